"""Reads of the ledger. Balances are sums of entries, read on each account's normal side."""

from __future__ import annotations

from django.db.models import Sum

from payouts.models import LedgerAccount, LedgerEntry, LedgerTransaction


def account_balance(*, key: str, currency: str) -> int:
    """The balance of one account in one currency, on its normal side (0 for an unknown account)."""
    account = LedgerAccount.objects.filter(key=key).first()
    if account is None:
        return 0
    total = LedgerEntry.objects.filter(account=account, currency=currency).aggregate(total=Sum("amount"))["total"] or 0
    return account.sign * total


def merchant_balances(*, organization_id) -> dict[str, dict[str, int]]:
    """``{currency: {"pending": .., "available": .., "reserve": .., "in_transit": ..}}`` for one
    organization, on the merchant's side (what the platform owes it). One query."""
    rows = (
        LedgerEntry.objects.filter(account__organization_id=organization_id)
        .values("account__kind", "currency")
        .annotate(total=Sum("amount"))
    )
    balances: dict[str, dict[str, int]] = {}
    for row in rows:
        name = row["account__kind"].removeprefix("merchant_")
        per_currency = balances.setdefault(row["currency"], {"pending": 0, "available": 0, "reserve": 0, "in_transit": 0})
        per_currency[name] = -row["total"]
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
