"""Payout accounts and payouts: how a merchant's available balance leaves the platform (docs/ledger.md, Payouts)."""

from django.db import models
from django.db.models import Q

from polar.models import OrganizationOwnedModel


class PayoutAccount(OrganizationOwnedModel):
    """The one bank account of an organization that payouts go to (sandbox bank details: nothing is sent
    anywhere), whether it is verified, the organization's automatic weekly payout setting, and the risk
    team's freeze. Created by ``payout_account_upsert`` (or by a freeze, with no bank details)."""

    # One per organization (the inherited foreign key, made unique by the constraint below).
    account_holder_name = models.CharField(max_length=255, blank=True, default="")
    bank_name = models.CharField(max_length=255, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="US")
    currency = models.CharField(max_length=3, default="usd")
    routing_number = models.CharField(max_length=34, blank=True, default="")
    # Sandbox only: the full number is kept to decide the sandbox outcome (docs/ledger.md lists the
    # numbers that fail). A real processor would keep a token and the last four digits.
    account_number = models.CharField(max_length=34, blank=True, default="")
    verified_at = models.DateTimeField(null=True, blank=True)
    # Pay the whole available balance out every week (the ``payouts_weekly`` step), when it is over the minimum.
    auto_payouts = models.BooleanField(default=False)
    # Set by the risk team (``payout_freeze``/``payout_unfreeze``, audited): no payout while frozen.
    payouts_frozen = models.BooleanField(default=False)
    frozen_reason = models.CharField(max_length=255, blank=True, default="")
    frozen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="payout_account_one_per_organization")]

    def __str__(self):
        return f"payout account {self.organization_id} …{self.account_number[-4:]}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def account_number_last4(self) -> str:
        return self.account_number[-4:]


class PayoutStatus(models.TextChoices):
    PENDING = "pending"  # requested and posted (funds in transit on the ledger), not sent to the processor yet
    IN_TRANSIT = "in_transit"  # sent: the processor accepted it
    SUCCEEDED = "succeeded"  # arrived at the bank (``payout:<id>:paid`` posted)
    FAILED = "failed"  # refused by the bank: the money went back to available (``payout:<id>:failed``)


class Payout(OrganizationOwnedModel):
    """One payout of ``amount`` of the organization's available balance in ``currency``. Each status
    change posts once to the ledger (``payout:<id>:requested|paid|failed``)."""

    payout_account = models.ForeignKey(PayoutAccount, on_delete=models.PROTECT, related_name="payouts")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=PayoutStatus.choices, default=PayoutStatus.PENDING)
    processor = models.CharField(max_length=32, default="sandbox")
    processor_ref = models.CharField(max_length=128, blank=True, default="")
    # What made it, unique: ``weekly:<org>:<ISO week>`` for automatic payouts (a second beat run of the
    # same week finds it), null for requests through the API (Idempotency-Key guards those).
    trigger_key = models.CharField(max_length=128, null=True, blank=True, unique=True)
    arrival_date = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(max_length=64, blank=True, default="")
    failure_message = models.CharField(max_length=255, blank=True, default="")
    # Held by the risk team (``payout_hold``/``payout_release``, audited): a held pending payout is not sent.
    held = models.BooleanField(default=False, db_default=False)
    held_reason = models.CharField(max_length=255, blank=True, default="", db_default="")

    class Meta:
        indexes = [
            models.Index(fields=["organization", "created_at"]),
            models.Index(fields=["status", "arrival_date"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[a-z]{3}$"), name="payout_currency_lower"),
        ]

    def __str__(self):
        return f"payout {self.id} {self.amount} {self.currency} {self.status}"
