"""Orders (what a customer is billed, once or per cycle), their line items and invoice numbering."""

from django.db import models
from django.db.models import Q

from polar.models import OrganizationOwnedModel, TimestampedModel
from polar.money import format_amount


class OrderBillingReason(models.TextChoices):
    PURCHASE = "purchase"
    SUBSCRIPTION_CREATE = "subscription_create"
    SUBSCRIPTION_CYCLE = "subscription_cycle"
    SUBSCRIPTION_UPDATE = "subscription_update"


class OrderStatus(models.TextChoices):
    # draft: a merchant's off-session charge not finalized yet (billing.orders.drafts); nothing charged.
    # pending: written before the charge (the crash marker); paid/refunded by services only.
    DRAFT = "draft"
    PENDING = "pending"
    PAID = "paid"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    VOID = "void"


class Order(OrganizationOwnedModel):
    """One bill. Amounts are integer minor units in ``currency``.

    ``subtotal − discount = net``; ``net + tax = total``; ``due = total − applied_balance`` (≥ 0): the
    amount actually charged. ``pricing_inputs`` is the ``PricingInput.to_dict()`` the order was priced
    from and ``pricing_version`` its format, so ``billing_verify`` can recompute it.

    ``period_start``/``period_end`` are what the order bills: the new period for create/cycle orders,
    ``[change instant, period end)`` for a ``subscription_update``. The unique constraint on
    (subscription, period_start, billing_reason) makes a second renewal of one period impossible:
    the renewal treats the ``IntegrityError`` as "already done".

    ``invoice_number`` is gapless per organization: allocated from ``InvoiceCounter`` under its row
    lock in the same transaction as the insert, so a rolled-back order gives its number back.
    ``payment_attempts`` counts charges tried; the processor idempotency key is
    ``order:<id>:attempt:<n>``.
    """

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="orders")
    product = models.ForeignKey("billing.Product", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    subscription = models.ForeignKey(
        "billing.Subscription", on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    checkout = models.ForeignKey("billing.Checkout", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    discount = models.ForeignKey("billing.Discount", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    billing_reason = models.CharField(max_length=32, choices=OrderBillingReason.choices)
    status = models.CharField(max_length=24, choices=OrderStatus.choices, default=OrderStatus.PENDING)

    currency = models.CharField(max_length=3)
    subtotal_amount = models.BigIntegerField(default=0)
    discount_amount = models.BigIntegerField(default=0)
    net_amount = models.BigIntegerField(default=0)
    tax_amount = models.BigIntegerField(default=0)
    total_amount = models.BigIntegerField(default=0)
    applied_balance_amount = models.BigIntegerField(default=0)
    due_amount = models.BigIntegerField(default=0)
    refunded_amount = models.BigIntegerField(default=0)
    refunded_tax_amount = models.BigIntegerField(default=0)
    platform_fee_amount = models.BigIntegerField(default=0)

    pricing_inputs = models.JSONField()
    pricing_version = models.PositiveSmallIntegerField(default=1)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    seats = models.PositiveIntegerField(null=True, blank=True)

    invoice_number = models.CharField(max_length=64)
    invoice_sequence = models.PositiveIntegerField()
    billing_name = models.CharField(max_length=256, null=True, blank=True)
    billing_address = models.JSONField(null=True, blank=True)
    description = models.CharField(max_length=512, default="")
    metadata = models.JSONField(default=dict, blank=True)
    # Answers to custom fields (slug -> value): from the checkout, or the subscription for its renewals.
    custom_field_data = models.JSONField(default=dict, db_default={}, blank=True)

    paid_at = models.DateTimeField(null=True, blank=True)
    payment_attempts = models.PositiveIntegerField(default=0)
    next_payment_attempt_at = models.DateTimeField(null=True, blank=True)
    # The crash marker of fulfilment (see docs/fulfilment.md): set when an order that a request charges
    # itself (purchase, subscription_create, subscription_update) is written pending, cleared once what
    # it pays for is delivered (benefits granted, subscription activated or switched, checkout
    # succeeded). A paid order still marked is finished by the ``fulfilment_sweep`` beat step, so a
    # failure after the charge never leaves the customer charged and unserved.
    awaiting_fulfilment = models.BooleanField(default=False)
    # The last error that stopped fulfilment (for staff; the sweep keeps retrying).
    fulfilment_error = models.TextField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "created_at"]),
            models.Index(fields=["customer", "created_at"]),
            models.Index(fields=["created_at"], condition=Q(awaiting_fulfilment=True), name="order_awaiting_fulfilment"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start", "billing_reason"],
                condition=Q(subscription__isnull=False),
                name="order_one_per_subscription_period_reason",
            ),
            models.UniqueConstraint(fields=["organization", "invoice_sequence"], name="order_invoice_sequence_unique"),
            models.CheckConstraint(
                condition=Q(net_amount=models.F("subtotal_amount") - models.F("discount_amount")),
                name="order_net_is_subtotal_less_discount",
            ),
            models.CheckConstraint(
                condition=Q(total_amount=models.F("net_amount") + models.F("tax_amount")),
                name="order_total_is_net_plus_tax",
            ),
            models.CheckConstraint(condition=Q(due_amount__gte=0), name="order_due_non_negative"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=models.F("total_amount")) | Q(refunded_amount=0),
                name="order_refunded_within_total",
            ),
        ]

    def __str__(self):
        return f"Order #{self.invoice_number}"

    @property
    def paid(self) -> bool:
        return self.status in (OrderStatus.PAID, OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED)

    @property
    def refundable_amount(self) -> int:
        return self.total_amount - self.refunded_amount if self.paid else 0

    @property
    def refundable_tax_amount(self) -> int:
        return self.tax_amount - self.refunded_tax_amount if self.paid else 0

    def payment_idempotency_key(self, attempt: int) -> str:
        """The processor key for charge attempt ``attempt`` (1-based) of this order."""
        return f"order:{self.id}:attempt:{attempt}"


class OrderItem(TimestampedModel):
    """One line of an order, as the pricing engine produced it (amount, discount, tax stated per line)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    label = models.CharField(max_length=512)
    amount = models.BigIntegerField()
    discount_amount = models.BigIntegerField(default=0)
    tax_amount = models.BigIntegerField(default=0)
    tax_rate_bps = models.PositiveIntegerField(default=0)
    proration = models.BooleanField(default=False)
    product_price = models.ForeignKey("billing.ProductPrice", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "created_at"]

    def __str__(self):
        return f"{self.label}, {format_amount(self.amount, self.order.currency)}"


class InvoiceCounter(models.Model):
    """The next invoice number of an organization. Locked (``select_for_update``) by ``order_create``
    in the transaction that inserts the order, which serialises numbering per organization and keeps
    it gapless: a rolled-back order rolls the counter back with it."""

    organization = models.OneToOneField(
        "organizations.Organization", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    next_number = models.PositiveIntegerField(default=1)
