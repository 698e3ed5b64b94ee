"""``ledger_post``: the one way money is written to the ledger.

A posting is a list of ``Line(account_key, amount, currency)`` (amount positive = debit, negative =
credit). ``ledger_post`` checks that the lines balance per currency, creates the accounts it has not
seen yet, and writes one ``LedgerTransaction`` with its entries, in the caller's transaction (or its
own). It is idempotent by ``idempotency_key``: a second call with a key already posted returns the
first transaction and writes nothing (a concurrent duplicate loses on the unique key and is answered
the same way). ``ledger_post_many`` does the same for a batch in a constant number of statements.

PostgreSQL refuses, whatever Python does, an UPDATE or DELETE of an entry and the commit of an
unbalanced transaction (migration ``0002_ledger_triggers``).
"""

from __future__ import annotations

import collections
import uuid

from django.db import IntegrityError, transaction

from payouts.models import LedgerAccount, LedgerEntry, LedgerTransaction
from payouts.rules import (  # noqa: F401  (the lines and keys are imported from here with ledger_post)
    Line,
    Posting,
    merchant_account_key,
    payouts_in_transit_key,
    platform_fees_key,
    processor_account_key,
)
from polar import clock
from polar.money import is_valid_currency


class LedgerUnbalanced(ValueError):
    """The lines of a posting do not sum to zero in some currency (a programming error)."""


def _account_spec(key: str) -> tuple[str, uuid.UUID | None]:
    """The kind and organization an account key stands for."""
    parts = key.split(":")
    if parts[0] == "merchant" and len(parts) == 3:
        return f"merchant_{parts[2]}", uuid.UUID(parts[1])
    if parts[0] == "processor" and len(parts) == 3:
        return {"clearing": "processor_clearing", "fees": "processor_fees", "dispute_fees": "dispute_fees"}[parts[2]], None
    if key == "platform:fees":
        return LedgerAccount.Kind.PLATFORM_FEES, None
    if parts[0] == "payouts" and len(parts) == 3 and parts[2] == "in_transit":
        return LedgerAccount.Kind.PAYOUTS_IN_TRANSIT, uuid.UUID(parts[1])
    raise ValueError(f"unknown ledger account key {key!r}")


def accounts_for(keys) -> dict[str, LedgerAccount]:
    """The accounts with these keys, created if missing (one SELECT, one INSERT at most)."""
    keys = set(keys)
    found = {a.key: a for a in LedgerAccount.objects.filter(key__in=keys)}
    missing = keys - set(found)
    if missing:
        rows = []
        for key in sorted(missing):
            kind, organization_id = _account_spec(key)
            if kind not in LedgerAccount.Kind.values:
                raise ValueError(f"unknown ledger account kind {kind!r}")
            rows.append(LedgerAccount(key=key, kind=kind, organization_id=organization_id))
        LedgerAccount.objects.bulk_create(rows, ignore_conflicts=True)
        found.update({a.key: a for a in LedgerAccount.objects.filter(key__in=missing)})
    return found


# --- posting --------------------------------------------------------------------------------------


def _check(posting: Posting) -> None:
    if posting.kind not in LedgerTransaction.Kind.values:
        raise ValueError(f"unknown ledger transaction kind {posting.kind!r}")
    if not posting.idempotency_key or len(posting.idempotency_key) > 255:
        raise ValueError("a posting needs an idempotency key of 1 to 255 characters")
    totals: collections.Counter = collections.Counter()
    for line in posting.lines:
        if not isinstance(line.amount, int) or isinstance(line.amount, bool):
            raise ValueError(f"ledger amounts are integers of minor units, not {line.amount!r}")
        if not is_valid_currency(line.currency):
            raise ValueError(f"invalid currency {line.currency!r}")
        totals[line.currency] += line.amount
    unbalanced = {currency: total for currency, total in totals.items() if total != 0}
    if unbalanced:
        raise LedgerUnbalanced(f"posting {posting.idempotency_key!r} does not balance: {unbalanced}")


def ledger_post(
    *,
    idempotency_key: str,
    kind: str,
    lines: list[Line],
    organization_id=None,
    source_id=None,
    parent_id=None,
    description: str = "",
) -> tuple[LedgerTransaction, bool]:
    """Post one balanced transaction; returns ``(transaction, created)``.

    Idempotent by ``idempotency_key`` (``created`` is False on a replay, and nothing is written).
    Zero lines are dropped (an entry is never zero). Raises ``LedgerUnbalanced`` for lines that do
    not sum to zero per currency. Runs in the caller's transaction when there is one (inside a
    savepoint, so a lost race on the key leaves the caller's transaction usable).
    """
    posting = Posting(
        idempotency_key=idempotency_key,
        kind=kind,
        lines=lines,
        organization_id=organization_id,
        source_id=source_id,
        parent_id=parent_id,
        description=description,
    )
    _check(posting)
    existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            created = ledger_post_many([posting])
    except IntegrityError:
        existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return existing, False
    return created[0], True


def ledger_post_many(postings: list[Posting]) -> list[LedgerTransaction]:
    """Post several transactions at once (one SELECT of known keys, one INSERT of transactions, one of
    entries). Postings whose key is already in the ledger are skipped. Returns the transactions created.
    The caller holds the rows that make the postings unique (the batch of payments it records) locked;
    a concurrent duplicate would still be refused by the unique key (``IntegrityError``)."""
    for posting in postings:
        _check(posting)
    keys = [posting.idempotency_key for posting in postings]
    if len(set(keys)) != len(keys):
        raise ValueError("ledger_post_many: an idempotency key appears twice in the batch")
    seen = set(LedgerTransaction.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    fresh = [posting for posting in postings if posting.idempotency_key not in seen]
    if not fresh:
        return []
    accounts = accounts_for(line.account_key for posting in fresh for line in posting.lines)
    now = clock.now()
    with transaction.atomic():
        rows = [
            LedgerTransaction(
                idempotency_key=posting.idempotency_key,
                kind=posting.kind,
                organization_id=posting.organization_id,
                source_id=posting.source_id,
                parent_id=posting.parent_id,
                description=posting.description[:255],
                created_at=now,
            )
            for posting in fresh
        ]
        LedgerTransaction.objects.bulk_create(rows)
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    transaction=row,
                    account=accounts[line.account_key],
                    amount=line.amount,
                    currency=line.currency,
                    created_at=now,
                )
                for row, posting in zip(rows, fresh)
                for line in posting.lines
                if line.amount != 0
            ]
        )
    return rows
