"""Disputes (chargebacks) of succeeded payments, reported by the processor (docs/ledger.md, Disputes)."""

from django.db import models

from polar.models import OrganizationOwnedModel


class DisputeStatus(models.TextChoices):
    NEEDS_RESPONSE = "needs_response"
    UNDER_REVIEW = "under_review"
    WON = "won"
    LOST = "lost"
    # The merchant accepted it (POST /v1/disputes/{id}/accept): closed as lost, reported as ``lost``.
    ACCEPTED = "accepted"


class Dispute(OrganizationOwnedModel):
    """A customer's dispute of ``payment`` (of ``order``), ``amount`` minor units, opened at the processor
    (``processor_dispute_ref``). Open while needs_response/under_review; won, lost and accepted are final."""

    OPEN_STATUSES = (DisputeStatus.NEEDS_RESPONSE, DisputeStatus.UNDER_REVIEW)

    order = models.ForeignKey("billing.Order", on_delete=models.PROTECT, related_name="disputes")
    payment = models.ForeignKey("billing.Payment", on_delete=models.PROTECT, related_name="disputes")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=DisputeStatus.choices, default=DisputeStatus.NEEDS_RESPONSE)
    amount = models.BigIntegerField()
    tax_amount = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=64, null=True, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    processor = models.CharField(max_length=32)
    processor_dispute_ref = models.CharField(max_length=128)
    # The processor's fee for the dispute, charged to the merchant when it opens (minor units).
    fee = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"])]
        constraints = [
            models.UniqueConstraint(fields=["processor", "processor_dispute_ref"], name="dispute_processor_ref_unique"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="dispute_amount_positive"),
        ]

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES
