"""Billing admin: one module per subdomain, imported here so Django finds it."""
from . import payments_admin  # noqa: F401
from . import catalog_admin  # noqa: F401
from . import subscriptions_admin  # noqa: F401,E402
