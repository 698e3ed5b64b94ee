"""Billing models, one module per subdomain; import them here so Django finds them."""
from .meters import Meter  # noqa: F401
from .payments import Payment, PaymentMethod  # noqa: F401
from .sandbox import SandboxCharge, SandboxDispute, SandboxPaymentMethod, SandboxRefund, SandboxSettings  # noqa: F401
from .catalog import Product, ProductBenefit, ProductPrice, ProductVisibility, RecurringInterval  # noqa: F401
from .discounts import Discount, DiscountAmount, DiscountProduct, DiscountRedemption  # noqa: F401
from .benefits import Benefit, BenefitGrant, LicenseKey, LicenseKeyActivation  # noqa: F401
from .tax import TaxRate  # noqa: F401
from .checkouts import Checkout, CheckoutProduct  # noqa: F401
from .subscriptions import (  # noqa: F401
    CustomerCancellationReason,
    PendingSubscriptionUpdate,
    ProrationBehavior,
    Subscription,
    SubscriptionPrice,
    SubscriptionProration,
    SubscriptionStatus,
)
from .orders import InvoiceCounter, Order, OrderBillingReason, OrderItem, OrderStatus  # noqa: F401
from .meters import CustomerMeter  # noqa: F401
from .events import Event, EventExternalId  # noqa: F401
