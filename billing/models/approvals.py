"""Four-eyes approvals (billing.approvals; docs/back-office.md): a staff refund or payout above the
organization's ``four_eyes_threshold`` is recorded here and runs only once a second staff member approves."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from polar.models import OrganizationOwnedModel


class ApprovalKind(models.TextChoices):
    REFUND = "refund"
    PAYOUT = "payout"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending"
    # approved: decided, its execution has not succeeded (yet): ``last_error`` says why.
    APPROVED = "approved"
    REJECTED = "rejected"
    EXECUTED = "executed"


class ApprovalRequest(OrganizationOwnedModel):
    """What ``requested_by`` asked for: a refund of ``amount`` on the order ``target_id``, or a payout of the
    organization's balance (``target_id`` its payout account; ``amount`` the balance when asked, the most the
    payout may pay). ``decided_by`` must differ from ``requested_by`` (a check constraint backs the service)."""

    kind = models.CharField(max_length=16, choices=ApprovalKind.choices)
    target_id = models.UUIDField()
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.TextField()
    # For a refund: the reason given to the processor and the merchant (RefundReason).
    refund_reason = models.CharField(max_length=32, blank=True, default="")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True, default="")
    # The refund or payout made on approval.
    result_id = models.UUIDField(null=True, blank=True)
    last_error = models.CharField(max_length=512, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "status", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="approval_amount_positive"),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                name="approval_four_eyes",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.amount} {self.currency} ({self.status})"
