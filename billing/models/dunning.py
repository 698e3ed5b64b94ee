"""Dunning: recovering a renewal whose charge failed (docs/billing.md, "Dunning").

One ``DunningCase`` per failed order (unique on the order) holds the schedule: when the next attempt is
due, which slot of the organization's schedule it is, the deadline (the final attempt), the grace period
after which the subscription's benefits are suspended. One ``DunningAttempt`` per charge tried for it,
each a new ``Payment`` with its own processor key ``order:<id>:attempt:<attempt_number>``.

What makes a double attempt impossible whatever the task queue repeats: an attempt row is inserted
(and the schedule advanced) in one transaction *before* the processor is called, and the unique
constraints (order, attempt_number) and (order, slot) refuse a second row for the same charge or the
same scheduled slot; the ``IntegrityError`` means "already done".
"""

from django.db import models
from django.db.models import Q

from polar.models import OrganizationOwnedModel, TimestampedModel

DEFAULT_RETRY_INTERVALS_DAYS = [2, 5, 7, 7]
DEFAULT_GRACE_PERIOD_DAYS = 7


def default_retry_intervals():
    return list(DEFAULT_RETRY_INTERVALS_DAYS)


class DunningEndAction(models.TextChoices):
    # What exhausted retries do to the subscription.
    REVOKE = "revoke"  # canceled now, benefits revoked (subscription.revoked)
    UNPAID = "unpaid"  # kept as ``unpaid``, benefits off; paying the order brings it back


class DunningSettings(TimestampedModel):
    """An organization's dunning rules. No row means the defaults (``DunningSettings.for_organization``)."""

    organization = models.OneToOneField("organizations.Organization", on_delete=models.CASCADE, related_name="dunning_settings")
    # Days after the previous attempt, one per retry: the last one is the deadline (the final attempt).
    retry_intervals_days = models.JSONField(default=default_retry_intervals)
    # Days after the subscription went past due during which its benefits stay; then suspended until recovery.
    grace_period_days = models.PositiveSmallIntegerField(default=DEFAULT_GRACE_PERIOD_DAYS)
    end_action = models.CharField(max_length=16, choices=DunningEndAction.choices, default=DunningEndAction.REVOKE)

    class Meta:
        verbose_name_plural = "dunning settings"

    def __str__(self):
        return f"Dunning settings of {self.organization}"

    def clean(self):
        from django.core.exceptions import ValidationError

        intervals = self.retry_intervals_days
        if not isinstance(intervals, list) or not intervals or not all(isinstance(d, int) and 0 < d <= 60 for d in intervals):
            raise ValidationError({"retry_intervals_days": "A non-empty list of whole days between 1 and 60, e.g. [2, 5, 7, 7]."})

    @classmethod
    def for_organization(cls, organization) -> "DunningSettings":
        found = cls.objects.filter(organization=organization).first()
        return found or cls(organization=organization)


class DunningCaseStatus(models.TextChoices):
    OPEN = "open"  # retries scheduled
    RECOVERED = "recovered"  # the order was paid
    EXHAUSTED = "exhausted"  # the final attempt failed: subscription revoked or unpaid, or the usage order voided
    CLOSED = "closed"  # the order stopped being payable otherwise (voided, refunded, subscription ended)


class DunningCase(OrganizationOwnedModel):
    """The recovery of one failed order. ``next_attempt_at`` mirrors ``Order.next_payment_attempt_at``.

    ``intervals_days`` is the schedule copied from the settings when the case opened (a settings change
    does not move running cases); ``next_slot`` is the 1-based index of the next scheduled retry in it
    (``len(intervals_days)`` is the final one, at ``deadline_at``). A hard decline sets ``hard_declined``
    and jumps ``next_slot`` to the final slot. ``usage_only``: a bill of metered usage only, retried and
    then voided without touching the subscription.
    """

    order = models.OneToOneField("billing.Order", on_delete=models.PROTECT, related_name="dunning_case")
    subscription = models.ForeignKey(
        "billing.Subscription", on_delete=models.PROTECT, null=True, blank=True, related_name="dunning_cases"
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=DunningCaseStatus.choices, default=DunningCaseStatus.OPEN)
    usage_only = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    intervals_days = models.JSONField()
    next_slot = models.PositiveSmallIntegerField(default=1)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField()
    grace_ends_at = models.DateTimeField()
    end_action = models.CharField(max_length=16, choices=DunningEndAction.choices)
    hard_declined = models.BooleanField(default=False)
    benefits_suspended_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Set when the recovery e-mail went out (claimed by a conditional UPDATE: at most one).
    recovery_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "created_at"]),
            # The hourly step: WHERE status = 'open' AND next_attempt_at <= now.
            models.Index(fields=["next_attempt_at"], condition=Q(status="open"), name="dunning_case_due_idx"),
            models.Index(
                fields=["grace_ends_at"],
                condition=Q(status="open", benefits_suspended_at__isnull=True),
                name="dunning_case_grace_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(next_slot__gte=1), name="dunning_case_slot_positive"),
        ]

    def __str__(self):
        return f"Dunning of {self.order} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == DunningCaseStatus.OPEN

    @property
    def final_slot(self) -> int:
        return len(self.intervals_days)


class DunningAttemptKind(models.TextChoices):
    INITIAL = "initial"  # the renewal's own charge, whose decline opened the case
    SCHEDULED = "scheduled"  # a slot of the retry schedule (the hourly step)
    CUSTOMER = "customer"  # the customer added a card (the portal) or asked for a retry
    MERCHANT = "merchant"  # POST /v1/orders/{id}/retry-payment, or staff in the admin


class DunningAttemptStatus(models.TextChoices):
    PENDING = "pending"  # claimed; the charge is being made (or its answer was lost: settled later)
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class DunningAttempt(TimestampedModel):
    """One charge tried for a case. ``attempt_number`` is the order's payment attempt (the processor key
    ``order:<id>:attempt:<n>``); null when nothing reached the processor (no usable card). ``slot`` is
    the schedule slot of a scheduled retry (null for the initial charge and extra attempts)."""

    case = models.ForeignKey(DunningCase, on_delete=models.CASCADE, related_name="attempts")
    order = models.ForeignKey("billing.Order", on_delete=models.PROTECT, related_name="dunning_attempts")
    kind = models.CharField(max_length=16, choices=DunningAttemptKind.choices)
    attempt_number = models.PositiveIntegerField(null=True, blank=True)
    slot = models.PositiveSmallIntegerField(null=True, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    payment = models.OneToOneField(
        "billing.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="dunning_attempt"
    )
    payment_method = models.ForeignKey("billing.PaymentMethod", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=16, choices=DunningAttemptStatus.choices, default=DunningAttemptStatus.PENDING)
    decline_code = models.CharField(max_length=64, null=True, blank=True)
    decline_message = models.CharField(max_length=512, null=True, blank=True)
    # Business time of the claim (``polar.clock``): an attempt still pending 5 minutes later is asked again.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Set when the failure e-mail of this attempt went out (claimed by a conditional UPDATE: at most one).
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "attempt_number"],
                condition=Q(attempt_number__isnull=False),
                name="dunning_attempt_number_unique",
            ),
            models.UniqueConstraint(
                fields=["order", "slot"], condition=Q(slot__isnull=False), name="dunning_attempt_slot_unique"
            ),
        ]

    def __str__(self):
        return f"Attempt {self.attempt_number or '-'} of {self.order} ({self.status})"
