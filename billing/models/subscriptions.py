"""Subscriptions, pinned to the price versions they bought, and their scheduled changes.

A subscription never reads "the product's current prices": ``SubscriptionPrice`` rows name the exact
``ProductPrice`` versions it bills, so a catalog change never changes what an existing subscriber
pays until a change is made to the subscription itself.

Periods are half-open ``[current_period_start, current_period_end)`` in aware UTC. The renewal sweep
claims due rows with ``select_for_update(skip_locked=True)`` on ``(status, current_period_end)``
(the index ``subscription_due_idx``).
"""

from django.db import models
from django.db.models import Q

from polar.models import OrganizationOwnedModel, TimestampedModel


class SubscriptionStatus(models.TextChoices):
    INCOMPLETE = "incomplete"  # created, first charge not (yet) successful: nothing granted
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"  # a renewal charge failed; dunning retries
    CANCELED = "canceled"  # ended (revoked, or canceled at the end of a period)
    UNPAID = "unpaid"  # dunning gave up


class CustomerCancellationReason(models.TextChoices):
    CUSTOMER_SERVICE = "customer_service"
    LOW_QUALITY = "low_quality"
    MISSING_FEATURES = "missing_features"
    SWITCHED_SERVICE = "switched_service"
    TOO_COMPLEX = "too_complex"
    TOO_EXPENSIVE = "too_expensive"
    UNUSED = "unused"
    OTHER = "other"


class ProrationBehavior(models.TextChoices):
    INVOICE = "invoice"  # charge the prorated difference now, in a subscription_update order
    PRORATE = "prorate"  # carry the prorated lines to the next renewal order
    NEXT_PERIOD = "next_period"  # switch at the next renewal, no proration


class Subscription(OrganizationOwnedModel):
    """A customer's subscription to a recurring product.

    Invariants:
    - ``status`` in ``ACTIVE_STATUSES`` ⇔ the customer has the product's benefits granted;
    - ``ended_at`` is set exactly when ``status`` is ``canceled``; ``ends_at`` is when it will end
      (``current_period_end`` while ``cancel_at_period_end``, or the revocation instant);
    - ``amount`` is the sum of the static (non-metered) pinned prices for one period before discount
      and tax, kept for the API and listings; orders are always priced from the pinned versions;
    - ``billing_anchor_day`` is the day of month of the first period start (1–31), passed to
      ``next_period_end`` every cycle so month-end clamping never drifts;
    - ``credit_balance`` (minor units, ≥ 0) is owed *to* the customer (a downgrade credit larger than the
      charge) and is applied to the next orders as ``applied_balance_amount``.
    Every transition lives in ``billing.subscriptions.services`` and locks this row.
    """

    ACTIVE_STATUSES = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
    # Statuses a renewal sweep looks at when current_period_end has passed.
    RENEWABLE_STATUSES = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="subscriptions")
    product = models.ForeignKey("billing.Product", on_delete=models.PROTECT, related_name="subscriptions")
    prices = models.ManyToManyField("billing.ProductPrice", through="billing.SubscriptionPrice", related_name="+")
    status = models.CharField(max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.INCOMPLETE)

    amount = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    recurring_interval = models.CharField(max_length=8)
    recurring_interval_count = models.PositiveIntegerField(default=1)

    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    billing_anchor_day = models.PositiveSmallIntegerField()
    trial_start = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)

    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    past_due_at = models.DateTimeField(null=True, blank=True)
    customer_cancellation_reason = models.CharField(
        max_length=32, choices=CustomerCancellationReason.choices, null=True, blank=True
    )
    customer_cancellation_comment = models.TextField(null=True, blank=True)

    discount = models.ForeignKey("billing.Discount", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Orders the discount has been applied to (for "once" and "repeating" durations).
    discount_applied_cycles = models.PositiveIntegerField(default=0)
    seats = models.PositiveIntegerField(null=True, blank=True)
    # The quantity of a unit_based price, billed in advance each period (null for any other price).
    units = models.PositiveIntegerField(null=True, blank=True)
    # The card renewals charge; null means "the customer's default payment method".
    payment_method = models.ForeignKey("billing.PaymentMethod", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    checkout = models.ForeignKey("billing.Checkout", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    credit_balance = models.BigIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True)
    # Answers to custom fields given at checkout (slug -> value); carried to every order of the subscription.
    custom_field_data = models.JSONField(default=dict, db_default={}, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "created_at"]),
            # The renewal sweep: WHERE status IN (...) AND current_period_end <= now ... SKIP LOCKED.
            models.Index(fields=["status", "current_period_end"], name="subscription_due_idx"),
            models.Index(fields=["customer", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(current_period_start__lt=models.F("current_period_end")), name="subscription_period_ordered"
            ),
            models.CheckConstraint(
                condition=Q(billing_anchor_day__gte=1, billing_anchor_day__lte=31), name="subscription_anchor_day_range"
            ),
            models.CheckConstraint(condition=Q(credit_balance__gte=0), name="subscription_credit_non_negative"),
            models.CheckConstraint(
                condition=~Q(status="canceled") | Q(ended_at__isnull=False), name="subscription_canceled_has_ended_at"
            ),
        ]

    def __str__(self):
        # Reads customer and product: select them with the subscription in lists.
        return f"{self.customer} — {self.product.name} ({self.status})"

    # --- predicates (no workflows here: see billing.subscriptions.services) ----------------------
    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def is_ended(self) -> bool:
        return self.status == SubscriptionStatus.CANCELED

    def can_cancel(self) -> bool:
        """May be scheduled to cancel at the period end (Polar: AlreadyCanceledSubscription otherwise)."""
        return self.is_active and not self.cancel_at_period_end

    def can_uncancel(self) -> bool:
        return self.is_active and self.cancel_at_period_end

    def can_revoke(self) -> bool:
        return self.status != SubscriptionStatus.CANCELED

    def can_change(self) -> bool:
        """Product/seat/discount changes need a live, not-ending subscription."""
        return self.is_active and not self.cancel_at_period_end


class SubscriptionPrice(TimestampedModel):
    """One price version a subscription bills (fixed/seat/custom once per period, metered in arrears).

    ``amount`` is what a ``custom`` (pay-what-you-want) price was bought at; null otherwise.
    """

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="subscription_prices")
    product_price = models.ForeignKey("billing.ProductPrice", on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "product_price"], name="subscription_price_unique")]

    def __str__(self):
        return self.product_price.label(self.amount)


class PendingSubscriptionUpdate(TimestampedModel):
    """A change scheduled for the start of the next period (Polar's ``PendingSubscriptionUpdate``).

    The renewal cycle applies it (pins ``prices`` — chosen when the change was scheduled — and/or
    ``seats``) at ``applies_at`` and sets ``applied_at``. At most one unapplied, uncanceled update per
    subscription (partial unique index): a second change while one is scheduled is ``SubscriptionLocked``.
    """

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="pending_updates")
    applies_at = models.DateTimeField()
    product = models.ForeignKey("billing.Product", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    prices = models.ManyToManyField("billing.ProductPrice", blank=True, related_name="+")
    seats = models.PositiveIntegerField(null=True, blank=True)
    units = models.PositiveIntegerField(null=True, blank=True)
    # Set for an ``invoice`` change being paid for: the update applies when this order is paid and is
    # canceled if it is voided. Renewals must not apply an update whose order is not paid.
    order = models.ForeignKey("billing.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    applied_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription"],
                condition=Q(applied_at__isnull=True, canceled_at__isnull=True),
                name="pending_subscription_update_one_open",
            )
        ]


class SubscriptionProration(TimestampedModel):
    """A prorated line (``proration_behavior=prorate``) to be billed on the next renewal order.

    ``line_input`` is a ``billing.pricing.LineInput.to_dict()`` (with its own ``period`` and
    ``prorate_from``), so the renewal adds ``LineInput.from_dict(line_input)`` to the cycle's
    ``PricingInput`` and the order stays recomputable. ``order`` is set when it has been billed;
    unbilled rows are those with ``order`` null.
    """

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="prorations")
    line_input = models.JSONField()
    order = models.ForeignKey("billing.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["subscription"], condition=Q(order__isnull=True), name="proration_unbilled_idx")]
