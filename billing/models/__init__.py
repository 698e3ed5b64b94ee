"""Billing models, one module per subdomain; import them here so Django finds them."""
from .meters import Meter  # noqa: F401
from .catalog import Product, ProductBenefit, ProductPrice, ProductVisibility, RecurringInterval  # noqa: F401
from .discounts import Discount, DiscountAmount, DiscountProduct, DiscountRedemption  # noqa: F401
from .benefits import Benefit, BenefitGrant, LicenseKey, LicenseKeyActivation  # noqa: F401
