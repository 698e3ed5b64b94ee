"""Billing models, one module per subdomain; import them here so Django finds them."""

from billing.models.analytics import MetricDashboard  # noqa: F401
from billing.models.approvals import ApprovalKind, ApprovalRequest, ApprovalStatus  # noqa: F401
from billing.models.benefits import Benefit, BenefitGrant, LicenseKey, LicenseKeyActivation  # noqa: F401
from billing.models.catalog import Product, ProductBenefit, ProductPrice, ProductVisibility, RecurringInterval  # noqa: F401
from billing.models.checkout_links import CheckoutLink, CheckoutLinkProduct  # noqa: F401
from billing.models.checkouts import Checkout, CheckoutProduct  # noqa: F401
from billing.models.custom_fields import CustomField, CustomFieldType, ProductCustomField  # noqa: F401
from billing.models.discounts import Discount, DiscountAmount, DiscountProduct, DiscountRedemption  # noqa: F401
from billing.models.disputes import Dispute, DisputeStatus  # noqa: F401
from billing.models.dunning import (  # noqa: F401
    DunningAttempt,
    DunningAttemptKind,
    DunningAttemptStatus,
    DunningCase,
    DunningCaseStatus,
    DunningEndAction,
    DunningSettings,
)
from billing.models.event_types import EventType, event_type_id  # noqa: F401
from billing.models.events import Event, EventExternalId  # noqa: F401
from billing.models.meters import CustomerMeter, Meter  # noqa: F401
from billing.models.orders import InvoiceCounter, Order, OrderBillingReason, OrderItem, OrderStatus  # noqa: F401
from billing.models.payments import Payment, PaymentMethod  # noqa: F401
from billing.models.portal import CustomerSession  # noqa: F401
from billing.models.refunds import Refund, RefundReason, RefundStatus  # noqa: F401
from billing.models.sandbox import SandboxCharge, SandboxDispute, SandboxPaymentMethod, SandboxRefund, SandboxSettings  # noqa: F401
from billing.models.seats import CustomerSeat, SeatStatus  # noqa: F401
from billing.models.subscriptions import (  # noqa: F401
    CustomerCancellationReason,
    PendingSubscriptionUpdate,
    ProrationBehavior,
    Subscription,
    SubscriptionPrice,
    SubscriptionProration,
    SubscriptionStatus,
)
from billing.models.tax import TaxRate  # noqa: F401
