"""Saved payment methods and payments (one row per charge attempt)."""

from django.db import models

from polar.models import OrganizationOwnedModel
from polar.money import format_amount


class PaymentMethod(OrganizationOwnedModel):
    """A customer's card saved at a processor. We keep the processor's reference and the display
    details (brand, last4, expiry), never the card number.

    Deletion is soft (``deleted_at``): payments keep pointing at the method they were made with.
    """

    class Type(models.TextChoices):
        CARD = "card"

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="payment_methods")
    processor = models.CharField(max_length=32)
    processor_ref = models.CharField(max_length=128)
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.CARD)
    brand = models.CharField(max_length=32)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["processor", "processor_ref"], name="payment_method_processor_ref_unique"),
        ]
        indexes = [models.Index(fields=["organization", "customer", "created_at"])]

    def __str__(self):
        return f"{self.brand} •••• {self.last4}"

    @property
    def is_usable(self) -> bool:
        return self.deleted_at is None


class Payment(OrganizationOwnedModel):
    """One charge attempt at the processor.

    The row is written (``pending``) *before* the processor is called: it is the crash marker. If the
    process dies before the answer is recorded, the pending row and its ``idempotency_key`` let
    ``payment_charge``/``payment_reconcile`` find the charge at the processor instead of making a
    second one. ``idempotency_key`` is derived from our own rows by the caller
    (``order:<id>:attempt:<n>``) and is unique here as it is at the processor.

    Amounts are minor units; ``fee`` is the processor's fee on a successful charge.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Trigger(models.TextChoices):
        PURCHASE = "purchase"
        SUBSCRIPTION_CYCLE = "subscription_cycle"
        RETRY_DUNNING = "retry_dunning"
        RETRY_CUSTOMER = "retry_customer"
        RETRY_PAYMENT_METHOD_UPDATE = "retry_payment_method_update"
        RETRY_ADMIN = "retry_admin"

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="payments")
    payment_method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="payments")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decline_reason = models.CharField(max_length=64, null=True, blank=True)
    decline_message = models.CharField(max_length=512, null=True, blank=True)
    processor = models.CharField(max_length=32)
    processor_charge_ref = models.CharField(max_length=128, null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    fee = models.BigIntegerField(null=True, blank=True)
    trigger = models.CharField(max_length=32, choices=Trigger.choices, null=True, blank=True)
    description = models.CharField(max_length=512, blank=True, default="")
    # Foreign keys since billing 0006 (same columns as the earlier plain UUIDs: ``order_id`` still works).
    checkout = models.ForeignKey("billing.Checkout", on_delete=models.PROTECT, null=True, blank=True, related_name="payments")
    order = models.ForeignKey("billing.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="payments")
    # The last processor trouble seen for a pending payment (a timeout), for support staff.
    last_error = models.CharField(max_length=512, null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "created_at"]),
            models.Index(fields=["status", "created_at"], condition=models.Q(status="pending"), name="payment_pending_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self):
        return f"{format_amount(self.amount, self.currency)} {self.currency}, {self.status}"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING
