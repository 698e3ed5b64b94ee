"""Billing admin: one module per subdomain, imported here so Django finds it."""

from billing.approvals import admin as approvals_admin  # noqa: F401
from billing.benefits import admin as benefits_admin  # noqa: F401
from billing.catalog import admin as catalog_admin  # noqa: F401
from billing.discounts import admin as discounts_admin  # noqa: F401
from billing.disputes import admin as disputes_admin  # noqa: F401
from billing.dunning import admin as dunning_admin  # noqa: F401
from billing.license_keys import admin as license_keys_admin  # noqa: F401
from billing.payments import admin as payments_admin  # noqa: F401
from billing.refunds import admin as refunds_admin  # noqa: F401
from billing.subscriptions import admin as subscriptions_admin  # noqa: F401
from billing.usage import admin as usage_admin  # noqa: F401
