"""``ledger_check``: the ledger's invariants, verified against the ledger and the rows it records.

Each check is one SQL query returning the breaches it finds (nothing when the ledger is sound):

- ``unbalanced``: a transaction whose entries do not sum to zero in some currency (the deferred
  trigger refuses these at commit; the check proves no row got past it, e.g. a disabled trigger).
- ``negative_available``: a merchant's available balance below zero in some currency.
- ``payment_unposted`` / ``payment_mismatch``: a succeeded payment without its ``payment:<id>``
  transaction, or whose posted gross (the debit to processor clearing) is not the payment's amount.
- ``payment_extra``: a ``payment`` transaction whose payment is not (or no longer) succeeded, or a
  second one for the same payment.
- ``refund_unposted`` / ``refund_mismatch`` / ``refund_extra``: the same for refunds (the credit to
  processor clearing is the refunded amount).
- ``negative_balance``: a merchant's pending, reserve, in-transit or debt below zero;
  ``debt_with_available``: debt and an available balance at once (debt is repaid first).
- ``dispute_unposted`` / ``dispute_mismatch`` / ``dispute_extra``: every dispute has its ``opened``
  posting (reserving its amount) and, once closed, exactly the ``closed`` posting of its outcome.
- ``payout_unposted`` / ``payout_mismatch`` / ``payout_extra``: every payout has its ``requested``
  posting and, once settled, exactly its ``paid`` or ``failed`` posting, each moving its amount.

The ledger imports nothing of billing; it reads billing's payment, refund and dispute tables by name
(``billing_payment``, ``billing_refund``, ``billing_dispute``) in these queries only.
"""

from __future__ import annotations

import dataclasses

from django.core.cache import cache
from django.db import connection

from payouts.models import LedgerAccount, LedgerEntry, LedgerTransaction, Payout
from polar import clock

CACHE_KEY = "payouts:ledger_check:last"
CACHE_TIMEOUT = 8 * 24 * 3600  # a week and a day: a nightly run that stopped shows as a stale timestamp

T = LedgerTransaction._meta.db_table
E = LedgerEntry._meta.db_table
A = LedgerAccount._meta.db_table
P = Payout._meta.db_table

_CHECKS = {
    "unbalanced": f"""
        SELECT t.idempotency_key, e.currency, sum(e.amount)
        FROM {E} e JOIN {T} t ON t.id = e.transaction_id
        GROUP BY t.idempotency_key, e.currency HAVING sum(e.amount) <> 0
        ORDER BY 1, 2""",
    "negative_available": f"""
        SELECT a.key, e.currency, -sum(e.amount)
        FROM {E} e JOIN {A} a ON a.id = e.account_id
        WHERE a.kind = 'merchant_available'
        GROUP BY a.key, e.currency HAVING sum(e.amount) > 0
        ORDER BY 1, 2""",
    "payment_unposted": f"""
        SELECT p.id, p.amount, p.currency FROM billing_payment p
        WHERE p.status = 'succeeded'
          AND NOT EXISTS (SELECT 1 FROM {T} t WHERE t.idempotency_key = 'payment:' || p.id::text)
        ORDER BY p.created_at, p.id""",
    "payment_mismatch": f"""
        SELECT p.id, p.amount, p.currency, coalesce(sum(e.amount), 0) FROM billing_payment p
        JOIN {T} t ON t.idempotency_key = 'payment:' || p.id::text
        LEFT JOIN {E} e ON e.transaction_id = t.id AND e.amount > 0 AND e.currency = p.currency
             AND e.account_id IN (SELECT id FROM {A} WHERE kind = 'processor_clearing')
        WHERE p.status = 'succeeded'
        GROUP BY p.id, p.amount, p.currency HAVING coalesce(sum(e.amount), 0) <> p.amount
        ORDER BY p.id""",
    "payment_extra": f"""
        SELECT t.idempotency_key, t.source_id FROM {T} t
        WHERE t.kind = 'payment' AND (
          NOT EXISTS (SELECT 1 FROM billing_payment p WHERE p.id = t.source_id AND p.status = 'succeeded'
                      AND t.idempotency_key = 'payment:' || p.id::text)
        )
        ORDER BY 1""",
    "refund_unposted": f"""
        SELECT r.id, r.amount, r.currency FROM billing_refund r
        WHERE r.status = 'succeeded'
          AND NOT EXISTS (SELECT 1 FROM {T} t WHERE t.idempotency_key = 'refund:' || r.id::text)
        ORDER BY r.created_at, r.id""",
    "refund_mismatch": f"""
        SELECT r.id, r.amount, r.currency, coalesce(-sum(e.amount), 0) FROM billing_refund r
        JOIN {T} t ON t.idempotency_key = 'refund:' || r.id::text
        LEFT JOIN {E} e ON e.transaction_id = t.id AND e.amount < 0 AND e.currency = r.currency
             AND e.account_id IN (SELECT id FROM {A} WHERE kind = 'processor_clearing')
        WHERE r.status = 'succeeded'
        GROUP BY r.id, r.amount, r.currency HAVING coalesce(-sum(e.amount), 0) <> r.amount
        ORDER BY r.id""",
    "refund_extra": f"""
        SELECT t.idempotency_key, t.source_id FROM {T} t
        WHERE t.kind = 'refund' AND NOT EXISTS (
          SELECT 1 FROM billing_refund r WHERE r.id = t.source_id AND r.status = 'succeeded'
                 AND t.idempotency_key = 'refund:' || r.id::text)
        ORDER BY 1""",
    # A merchant's other balances never go below zero either (pending is taken only as far as a payment's
    # own funds go; debt is only repaid up to what is owed; reserve and in-transit only give back what came in).
    "negative_balance": f"""
        SELECT a.key, e.currency, CASE WHEN a.kind = 'merchant_debt' THEN sum(e.amount) ELSE -sum(e.amount) END
        FROM {E} e JOIN {A} a ON a.id = e.account_id
        WHERE a.kind IN ('merchant_pending', 'merchant_reserve', 'payouts_in_transit', 'merchant_debt')
        GROUP BY a.key, a.kind, e.currency
        HAVING CASE WHEN a.kind = 'merchant_debt' THEN sum(e.amount) ELSE -sum(e.amount) END < 0
        ORDER BY 1, 2""",
    # Debt is repaid before anything is credited to available, and taken only once available is empty.
    "debt_with_available": f"""
        SELECT a.organization_id, e.currency FROM {E} e JOIN {A} a ON a.id = e.account_id
        WHERE a.kind IN ('merchant_available', 'merchant_debt')
        GROUP BY a.organization_id, e.currency
        HAVING sum(e.amount) FILTER (WHERE a.kind = 'merchant_debt') > 0
           AND sum(e.amount) FILTER (WHERE a.kind = 'merchant_available') < 0
        ORDER BY 1, 2""",
    # Every dispute has its ``opened`` posting reserving exactly its amount; a closed one exactly one
    # ``closed`` posting of its outcome (won → dispute_won; lost or accepted → dispute_lost), an open one none.
    "dispute_unposted": f"""
        SELECT d.id, d.status FROM billing_dispute d
        WHERE NOT EXISTS (SELECT 1 FROM {T} t WHERE t.idempotency_key = 'dispute:' || d.id::text || ':opened'
                          AND t.kind = 'dispute_opened')
           OR (d.status IN ('won', 'lost', 'accepted') AND NOT EXISTS (
                 SELECT 1 FROM {T} t WHERE t.idempotency_key = 'dispute:' || d.id::text || ':closed'
                 AND t.kind = CASE WHEN d.status = 'won' THEN 'dispute_won' ELSE 'dispute_lost' END))
        ORDER BY 1""",
    "dispute_mismatch": f"""
        SELECT d.id, d.amount, coalesce(-sum(e.amount), 0) FROM billing_dispute d
        JOIN {T} t ON t.idempotency_key = 'dispute:' || d.id::text || ':opened'
        LEFT JOIN {E} e ON e.transaction_id = t.id
             AND e.account_id IN (SELECT id FROM {A} WHERE kind = 'merchant_reserve')
        GROUP BY d.id, d.amount HAVING coalesce(-sum(e.amount), 0) <> d.amount
        ORDER BY 1""",
    "dispute_extra": f"""
        SELECT t.idempotency_key, t.kind FROM {T} t
        WHERE t.kind IN ('dispute_opened', 'dispute_won', 'dispute_lost') AND NOT EXISTS (
          SELECT 1 FROM billing_dispute d WHERE d.id = t.source_id AND (
            (t.kind = 'dispute_opened' AND t.idempotency_key = 'dispute:' || d.id::text || ':opened')
            OR (t.kind = 'dispute_won' AND d.status = 'won' AND t.idempotency_key = 'dispute:' || d.id::text || ':closed')
            OR (t.kind = 'dispute_lost' AND d.status IN ('lost', 'accepted')
                AND t.idempotency_key = 'dispute:' || d.id::text || ':closed')))
        ORDER BY 1""",
    # Every payout has its ``requested`` posting moving exactly its amount into transit; a succeeded one
    # exactly its ``paid`` posting, a failed one its ``failed`` posting, a pending or in-transit one neither.
    "payout_unposted": f"""
        SELECT p.id, p.status FROM {P} p
        WHERE NOT EXISTS (SELECT 1 FROM {T} t WHERE t.idempotency_key = 'payout:' || p.id::text || ':requested'
                          AND t.kind = 'payout_requested')
           OR (p.status = 'succeeded' AND NOT EXISTS (
                 SELECT 1 FROM {T} t WHERE t.idempotency_key = 'payout:' || p.id::text || ':paid'))
           OR (p.status = 'failed' AND NOT EXISTS (
                 SELECT 1 FROM {T} t WHERE t.idempotency_key = 'payout:' || p.id::text || ':failed'))
        ORDER BY 1""",
    "payout_mismatch": f"""
        SELECT p.id, p.amount, t.kind, coalesce(sum(e.amount), 0) FROM {P} p
        JOIN {T} t ON t.source_id = p.id AND t.kind IN ('payout_requested', 'payout_paid', 'payout_failed')
        LEFT JOIN {E} e ON e.transaction_id = t.id
             AND e.account_id IN (SELECT id FROM {A} WHERE kind = 'payouts_in_transit')
        GROUP BY p.id, p.amount, t.kind
        HAVING coalesce(sum(e.amount), 0) <> CASE WHEN t.kind = 'payout_requested' THEN -p.amount ELSE p.amount END
        ORDER BY 1, 3""",
    "payout_extra": f"""
        SELECT t.idempotency_key, t.kind FROM {T} t
        WHERE t.kind IN ('payout_requested', 'payout_paid', 'payout_failed') AND NOT EXISTS (
          SELECT 1 FROM {P} p WHERE p.id = t.source_id AND t.idempotency_key = 'payout:' || p.id::text || ':' || (
            CASE t.kind WHEN 'payout_requested' THEN 'requested' WHEN 'payout_paid' THEN 'paid' ELSE 'failed' END)
            AND (t.kind = 'payout_requested' OR p.status = CASE t.kind WHEN 'payout_paid' THEN 'succeeded' ELSE 'failed' END))
        ORDER BY 1""",
}


@dataclasses.dataclass(frozen=True)
class Breach:
    invariant: str
    detail: tuple

    def __str__(self):
        return f"{self.invariant}: " + " ".join(str(value) for value in self.detail)


def ledger_breaches_list() -> list[Breach]:
    """Every breach of every invariant (empty when the ledger is sound)."""
    breaches = []
    with connection.cursor() as cursor:
        # One round trip: the statements (no parameters) go together and come back as one result set
        # each, in order (psycopg's nextset).
        cursor.execute(";\n".join(_CHECKS.values()))
        for invariant in _CHECKS:
            breaches.extend(Breach(invariant, tuple(row)) for row in cursor.fetchall())
            cursor.nextset()
    return breaches


def ledger_breaches() -> int:
    """How many breaches the ledger has now (runs every check)."""
    return len(ledger_breaches_list())


def ledger_check_record() -> list[Breach]:
    """Run every check and keep the count for the ``polar_ledger_breaches`` gauge (read from the cache at
    scrape time, so a scrape never runs the checks). The nightly beat task and the command call this."""
    breaches = ledger_breaches_list()
    cache.set(CACHE_KEY, {"breaches": len(breaches), "at": clock.now().timestamp()}, CACHE_TIMEOUT)
    return breaches


def ledger_check_last() -> dict | None:
    """``{"breaches": n, "at": unix time}`` of the last recorded check, or None."""
    return cache.get(CACHE_KEY)
