"""Output shapes of the ledger's API: Polar's ``Transaction`` (one line per entry on the merchant's
accounts) and the transactions summary. No query per item: entries come with their transaction and
account loaded (``selectors.merchant_entries``)."""

import uuid

from rest_framework import serializers

from payouts.models import LedgerAccount, LedgerEntry, Payout
from payouts.selectors import TRANSACTION_TYPES
from polar.api.formatting import dt, sid

# Entry ids are integers; the API speaks UUIDs. A stable UUID per entry (not reversible, not needed).
_ENTRY_NAMESPACE = uuid.UUID("6b1f3f0e-4f0e-4d4b-9f3e-2f6c6f1d9a10")

_ACCOUNT_NAMES = {
    LedgerAccount.Kind.MERCHANT_PENDING: "pending",
    LedgerAccount.Kind.MERCHANT_AVAILABLE: "available",
    LedgerAccount.Kind.MERCHANT_RESERVE: "reserve",
    LedgerAccount.Kind.MERCHANT_DEBT: "debt",
    LedgerAccount.Kind.PAYOUTS_IN_TRANSIT: "in_transit",
}


def transaction_output(entry: LedgerEntry) -> dict:
    transaction = entry.transaction
    # The merchant's side: positive is money the platform owes the merchant (its accounts are credit-normal).
    amount = -entry.amount
    return {
        "id": str(uuid.uuid5(_ENTRY_NAMESPACE, str(entry.id))),
        "created_at": dt(entry.created_at),
        "modified_at": None,
        "type": TRANSACTION_TYPES.get(transaction.kind, "balance"),
        "processor": None,
        "currency": entry.currency,
        "amount": amount,
        "account_currency": entry.currency,
        "account_amount": amount,
        "tax_amount": 0,
        "tax_country": None,
        "tax_state": None,
        "processor_fee_type": None,
        "platform_fee_type": None,
        "balance_correlation_key": str(transaction.id),
        "pledge_id": None,
        "issue_reward_id": None,
        "order_id": None,
        "payout_transaction_id": None,
        "incurred_by_transaction_id": None,
        # Ours (not in Polar's shape): which balance moved, and the ledger event behind the line.
        "account": _ACCOUNT_NAMES.get(entry.account.kind, entry.account.kind),
        "ledger_transaction_id": str(transaction.id),
        "ledger_kind": transaction.kind,
        "source_id": sid(transaction.source_id),
        "organization_id": sid(transaction.organization_id),
    }


class TransactionOutput(serializers.BaseSerializer):
    def to_representation(self, instance):
        return transaction_output(instance)


def summary_output(balances: dict[str, dict[str, int]]) -> dict:
    """``{"currencies": [{currency, balance, pending, available, reserve, in_transit, debt}...]}`` (balance:
    pending + available - debt) and, as in
    Polar's ``TransactionsSummary``, ``balance`` and ``payout`` of the first currency (0 usd when none)."""
    currencies = []
    for currency in sorted(balances):
        amounts = balances[currency]
        currencies.append(
            {
                "currency": currency,
                "balance": amounts["pending"] + amounts["available"] - amounts["debt"],
                "pending": amounts["pending"],
                "available": amounts["available"],
                "reserve": amounts["reserve"],
                "in_transit": amounts["in_transit"],
                "debt": amounts["debt"],
            }
        )
    first = currencies[0] if currencies else {"currency": "usd", "balance": 0, "in_transit": 0}

    def _amount(currency, value):
        return {"currency": currency, "amount": value, "account_currency": currency, "account_amount": value}

    return {
        "balance": _amount(first["currency"], first["balance"]),
        "payout": _amount(first["currency"], first["in_transit"]),
        "currencies": currencies,
    }


def payout_output(payout: Payout) -> dict:
    """Polar's ``Payout`` (no payout fee: ``fees_amount`` 0, ``gross_amount`` = ``amount``; one attempt, the
    sandbox transfer). ``account_id`` is the payout account; ``transaction_id`` the ledger transaction of
    the request (``requested_transaction_id``, annotated by ``selectors.payout_list``). Extra keys: the
    bank account's last four digits and the failure."""
    account = payout.payout_account
    attempt = {
        "id": str(payout.id),
        "created_at": dt(payout.created_at),
        "modified_at": dt(payout.modified_at),
        "payout_id": str(payout.id),
        "processor": payout.processor,
        "processor_id": payout.processor_ref or None,
        "status": payout.status,
        "amount": payout.amount,
        "currency": payout.currency,
        "failed_reason": payout.failure_message or None,
        "paid_at": dt(payout.paid_at),
    }
    return {
        "id": str(payout.id),
        "created_at": dt(payout.created_at),
        "modified_at": dt(payout.modified_at),
        "processor": payout.processor,
        "status": payout.status,
        "paid_at": dt(payout.paid_at),
        "currency": payout.currency,
        "amount": payout.amount,
        "fees_amount": 0,
        "gross_amount": payout.amount,
        "account_currency": payout.currency,
        "account_amount": payout.amount,
        "account_id": str(account.id),
        "invoice_number": None,
        "is_invoice_generated": False,
        "transaction_id": sid(getattr(payout, "requested_transaction_id", None)),
        "fees_transactions": [],
        "attempts": [attempt] if payout.processor_ref else [],
        # Ours (not in Polar's shape).
        "organization_id": str(payout.organization_id),
        "arrival_date": dt(payout.arrival_date),
        "failure_code": payout.failure_code or None,
        "bank_account_last4": account.account_number_last4,
    }


class PayoutOutput(serializers.BaseSerializer):
    def to_representation(self, instance):
        return payout_output(instance)


def payout_estimate_output(estimate: dict) -> dict:
    """Polar's ``PayoutEstimate``: no fee, so gross = net."""
    account = estimate["account"]
    return {
        "account_id": str(account.id),
        "payout_account_id": str(account.id),
        "gross_amount": estimate["amount"],
        "fees_amount": 0,
        "net_amount": estimate["amount"],
        "currency": estimate["currency"],
    }
