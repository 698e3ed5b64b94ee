"""Backfill: post the payments (and their refunds) that succeeded before the ledger existed.

The ledger imports nothing of billing: the succeeded payments and refunds without their posting are read
from billing's tables by name, as ``ledger_check`` reads them (``payment_unposted``, ``refund_unposted``).
Each posting is the one the live path writes (``payment:<id>``, ``refund:<id>``), so running the backfill
twice, or while payments come in, posts nothing twice. A backfilled payment's funds become available one
holding period after the backfill (its posting is dated now), never earlier.
"""

from __future__ import annotations

import dataclasses

from django.db import connection, transaction

from payouts.models import LedgerTransaction
from payouts.postings import payments_post_many, refund_post

T = LedgerTransaction._meta.db_table

_UNPOSTED_PAYMENTS = f"""
    SELECT p.id, p.organization_id, p.amount, coalesce(p.fee, 0), p.currency, p.processor FROM billing_payment p
    WHERE p.status = 'succeeded'
      AND NOT EXISTS (SELECT 1 FROM {T} t WHERE t.idempotency_key = 'payment:' || p.id::text)
    ORDER BY p.created_at, p.id LIMIT %s"""

# Each unposted refund with what was refunded of its payment before it (succeeded refunds created earlier).
_UNPOSTED_REFUNDS = f"""
    SELECT r.id, r.payment_id, r.amount, p.processor,
           coalesce((SELECT sum(o.amount) FROM billing_refund o WHERE o.payment_id = r.payment_id
                     AND o.status = 'succeeded' AND (o.created_at, o.id) < (r.created_at, r.id)), 0)
    FROM billing_refund r JOIN billing_payment p ON p.id = r.payment_id
    WHERE r.status = 'succeeded'
      AND NOT EXISTS (SELECT 1 FROM {T} t WHERE t.idempotency_key = 'refund:' || r.id::text)
    ORDER BY r.created_at, r.id"""


@dataclasses.dataclass
class BackfillResult:
    payments: int = 0
    payments_amount: int = 0
    refunds: int = 0
    refunds_amount: int = 0


def ledger_backfill(*, dry_run: bool = False, batch_size: int = 500) -> BackfillResult:
    """Post every succeeded payment, then every succeeded refund, that has no posting yet (batches of
    ``batch_size`` payments, each batch in its own transaction). ``dry_run`` counts what would be posted
    and writes nothing. Idempotent by the postings' keys."""
    result = BackfillResult()
    with connection.cursor() as cursor:
        cursor.execute(_UNPOSTED_PAYMENTS, [10**9 if dry_run else batch_size])
        rows = cursor.fetchall()
    while rows:
        result.payments += len(rows)
        result.payments_amount += sum(row[2] for row in rows)
        if dry_run:
            break
        with transaction.atomic():
            payments_post_many(
                [
                    {
                        "payment_id": pk,
                        "organization_id": org,
                        "gross": amount,
                        "processor_fee": fee,
                        "currency": cur,
                        "processor": proc,
                    }
                    for pk, org, amount, fee, cur, proc in rows
                ]
            )
        with connection.cursor() as cursor:
            cursor.execute(_UNPOSTED_PAYMENTS, [batch_size])
            rows = cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute(_UNPOSTED_REFUNDS)
        refunds = cursor.fetchall()
    result.refunds = len(refunds)
    result.refunds_amount = sum(row[2] for row in refunds)
    if dry_run:
        return result
    for refund_id, payment_id, amount, processor, refunded_before in refunds:
        with transaction.atomic():
            refund_post(
                refund_id=refund_id, payment_id=payment_id, amount=amount, refunded_before=refunded_before, processor=processor
            )
    return result
