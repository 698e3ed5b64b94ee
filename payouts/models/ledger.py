"""The double-entry ledger: accounts, transactions and their entries.

Sign convention: an entry's ``amount`` is a signed number of minor units, **positive for a debit and
negative for a credit**. Every transaction's entries sum to zero per currency, and entries are never
changed or deleted. Both rules are enforced by PostgreSQL itself (migration
``0002_ledger_triggers``): a trigger refuses UPDATE and DELETE on entries, and a deferred constraint
trigger refuses, at commit, a transaction whose entries do not balance. ``ledger_post`` checks the same
in Python first, so a bug surfaces as a clear error before it reaches the database.

Balances are computed from the entries (no stored balance column). For accounts whose normal side is
the credit (what the platform owes merchants, its revenue), ``LedgerAccount.Kind.sign`` turns the sum
into the positive figure a person expects.
"""

import uuid

from django.db import models


class LedgerAccount(models.Model):
    """One account of the ledger, named by a stable ``key`` (``merchant:<org id>:pending``,
    ``platform:fees``, ``processor:sandbox:clearing``...). Accounts hold any currency: the currency is
    on each entry. Created on first use by ``ledger_post``."""

    class Kind(models.TextChoices):
        # What the platform owes a merchant (liabilities, credit-normal).
        MERCHANT_PENDING = "merchant_pending"  # paid, inside the holding period
        MERCHANT_AVAILABLE = "merchant_available"  # can be paid out
        MERCHANT_RESERVE = "merchant_reserve"  # held while a dispute is open
        # What the merchant owes the platform (an asset, debit-normal): a refund or dispute bigger than the
        # merchant's funds takes the rest here rather than driving available below zero; the next funds
        # credited to the merchant repay it first (payouts/rules.py, ``funds_lines``).
        MERCHANT_DEBT = "merchant_debt"
        PAYOUTS_IN_TRANSIT = "payouts_in_transit"  # a payout sent, not yet confirmed paid
        # The platform's revenue (credit-normal).
        PLATFORM_FEES = "platform_fees"
        # Assets and expenses (debit-normal).
        PROCESSOR_CLEARING = "processor_clearing"  # what the processor holds for us
        PROCESSOR_FEES = "processor_fees"  # the processor's fees, borne by the platform
        DISPUTE_FEES = "dispute_fees"  # dispute fees charged to the merchant, paid to the processor

    CREDIT_NORMAL = frozenset(
        {Kind.MERCHANT_PENDING, Kind.MERCHANT_AVAILABLE, Kind.MERCHANT_RESERVE, Kind.PAYOUTS_IN_TRANSIT, Kind.PLATFORM_FEES}
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=128, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # Null for the platform's and the processor's own accounts.
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "kind"])]

    def __str__(self):
        return self.key

    @property
    def sign(self) -> int:
        """Multiply an entry sum by this to read the balance on the account's normal side."""
        return -1 if self.kind in self.CREDIT_NORMAL else 1


class LedgerTransaction(models.Model):
    """One money event, posted once: the unique ``idempotency_key`` (``payment:<payment id>``,
    ``refund:<refund id>``, ``release:<transaction id>``...) makes a replay find the first posting
    instead of writing a second. ``source_id`` names the row of the event (payment, refund, dispute,
    payout) without a foreign key: the ledger sits below billing and imports none of it."""

    class Kind(models.TextChoices):
        PAYMENT = "payment"
        RELEASE = "release"
        REFUND = "refund"
        DISPUTE_OPENED = "dispute_opened"
        DISPUTE_WON = "dispute_won"
        DISPUTE_LOST = "dispute_lost"
        PAYOUT_REQUESTED = "payout_requested"
        PAYOUT_PAID = "payout_paid"
        PAYOUT_FAILED = "payout_failed"
        ADJUSTMENT = "adjustment"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    idempotency_key = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source_id = models.UUIDField(null=True, blank=True)
    # The payment a release or refund belongs to (its merchant funds are tracked per payment).
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    description = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "created_at"]),
            models.Index(fields=["kind", "created_at"]),
            models.Index(fields=["source_id"]),
        ]

    def __str__(self):
        return f"{self.kind} {self.idempotency_key}"


class LedgerEntry(models.Model):
    """One line of a transaction: ``amount`` minor units of ``currency`` debited (positive) or credited
    (negative) to ``account``. Immutable (database trigger)."""

    id = models.BigAutoField(primary_key=True)
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["account", "currency"])]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="ledger_entry_amount_nonzero"),
            models.CheckConstraint(condition=models.Q(currency__regex=r"^[a-z]{3}$"), name="ledger_entry_currency_lower"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.amount} {self.currency}"
