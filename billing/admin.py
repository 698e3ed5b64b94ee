"""Billing admin: one module per subdomain, imported here so Django finds it."""
from billing.catalog import admin as catalog_admin  # noqa: F401
from billing.payments import admin as payments_admin  # noqa: F401
from billing.subscriptions import admin as subscriptions_admin  # noqa: F401,E402
from billing.usage import admin as usage_admin  # noqa: F401,E402
