"""Refunds of paid orders (one row per refund request, partial or full)."""

from django.db import models
from django.db.models import Q

from polar.models import OrganizationOwnedModel


class RefundStatus(models.TextChoices):
    # pending: written (under the order's lock) before the processor is called: it reserves its amount,
    # so concurrent requests can never refund more than the order's refundable amount.
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class RefundReason(models.TextChoices):
    DUPLICATE = "duplicate"
    FRAUDULENT = "fraudulent"
    CUSTOMER_REQUEST = "customer_request"
    SERVICE_DISRUPTION = "service_disruption"
    SATISFACTION_GUARANTEE = "satisfaction_guarantee"
    DISPUTE_PREVENTION = "dispute_prevention"
    OTHER = "other"


class Refund(OrganizationOwnedModel):
    """``amount`` (tax included, minor units) given back on ``order`` through its succeeded ``payment``;
    ``tax_amount`` is the tax share of it. The processor refund is made with the key ``refund:<id>``."""

    order = models.ForeignKey("billing.Order", on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey("billing.Payment", on_delete=models.PROTECT, related_name="refunds")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    subscription = models.ForeignKey("billing.Subscription", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    reason = models.CharField(max_length=32, choices=RefundReason.choices)
    amount = models.BigIntegerField()
    tax_amount = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    comment = models.TextField(null=True, blank=True)
    revoke_benefits = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    processor_refund_ref = models.CharField(max_length=128, null=True, blank=True)
    last_error = models.CharField(max_length=512, null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "created_at"]),
            models.Index(fields=["order", "status"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(tax_amount__gte=0, tax_amount__lte=models.F("amount")), name="refund_tax_within_amount"
            ),
        ]

    def __str__(self):
        return f"refund {self.amount} {self.currency} ({self.status})"

    @property
    def processor_idempotency_key(self) -> str:
        return f"refund:{self.id}"
