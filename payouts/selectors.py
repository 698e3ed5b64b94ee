"""Reads of the ledger. Balances are sums of entries, read on each account's normal side."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery, Sum

from payouts.models import LedgerAccount, LedgerEntry, LedgerTransaction, Payout, PayoutAccount


def account_balance(*, key: str, currency: str) -> int:
    """The balance of one account in one currency, on its normal side (0 for an unknown account)."""
    account = LedgerAccount.objects.filter(key=key).first()
    if account is None:
        return 0
    total = LedgerEntry.objects.filter(account=account, currency=currency).aggregate(total=Sum("amount"))["total"] or 0
    return account.sign * total


def merchant_balances(*, organization_id) -> dict[str, dict[str, int]]:
    """``{currency: {"pending": .., "available": .., "reserve": .., "in_transit": .., "debt": ..}}`` for
    one organization: what the platform owes it on each account, and ``debt``, what it owes the platform
    (docs/ledger.md). One query."""
    rows = (
        LedgerEntry.objects.filter(account__organization_id=organization_id)
        .values("account__kind", "currency")
        .annotate(total=Sum("amount"))
    )
    balances: dict[str, dict[str, int]] = {}
    for row in rows:
        name = row["account__kind"].removeprefix("merchant_").removeprefix("payouts_")
        per_currency = balances.setdefault(
            row["currency"], {"pending": 0, "available": 0, "reserve": 0, "in_transit": 0, "debt": 0}
        )
        # Debt is what the merchant owes (debit-normal): read positive like the others.
        per_currency[name] = row["total"] if name == "debt" else -row["total"]
    return balances


def transaction_entries_sum(*, transaction: LedgerTransaction, account_key: str, currency: str) -> int:
    """The raw (debit-positive) sum of one transaction's entries on one account."""
    return (
        LedgerEntry.objects.filter(transaction=transaction, account__key=account_key, currency=currency).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )


def merchant_entries(*, organization_id, type=None, currency=None, account=None):
    """The organization's ledger lines: the entries on its own accounts (pending, available, reserve,
    payouts in transit), with their transaction and account loaded, newest first by default."""
    queryset = LedgerEntry.objects.filter(account__organization_id=organization_id).select_related("transaction", "account")
    if type:
        kinds = [kind for kind, public in TRANSACTION_TYPES.items() if public in type]
        queryset = queryset.filter(transaction__kind__in=kinds)
    if currency:
        queryset = queryset.filter(currency=currency.lower())
    if account:
        queryset = queryset.filter(
            account__kind__in=[f"merchant_{name}" if name != "in_transit" else "payouts_in_transit" for name in account]
        )
    return queryset


# Polar's Transaction.type for each kind of ledger transaction (docs/ledger.md, "Transactions API").
TRANSACTION_TYPES = {
    LedgerTransaction.Kind.PAYMENT: "payment",
    LedgerTransaction.Kind.RELEASE: "balance",
    LedgerTransaction.Kind.REFUND: "refund",
    LedgerTransaction.Kind.DISPUTE_OPENED: "dispute",
    LedgerTransaction.Kind.DISPUTE_WON: "dispute_reversal",
    LedgerTransaction.Kind.DISPUTE_LOST: "dispute",
    LedgerTransaction.Kind.PAYOUT_REQUESTED: "payout",
    LedgerTransaction.Kind.PAYOUT_PAID: "payout",
    LedgerTransaction.Kind.PAYOUT_FAILED: "payout_reversal",
    LedgerTransaction.Kind.ADJUSTMENT: "balance",
}


def payout_list(*, organization, status=None, currency=None):
    """The organization's payouts, with their account and their ``requested`` ledger transaction id."""
    requested = LedgerTransaction.objects.filter(source_id=OuterRef("pk"), kind=LedgerTransaction.Kind.PAYOUT_REQUESTED)
    queryset = (
        Payout.objects.filter(organization=organization)
        .select_related("payout_account")
        .annotate(requested_transaction_id=Subquery(requested.values("id")[:1]))
    )
    if status:
        queryset = queryset.filter(status__in=status)
    if currency:
        queryset = queryset.filter(currency=currency.lower())
    return queryset


def payout_get(*, organization, id):
    return payout_list(organization=organization).filter(pk=id).first()


def payout_account_get(*, organization):
    return PayoutAccount.objects.filter(organization=organization).first()
