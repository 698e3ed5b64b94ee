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
