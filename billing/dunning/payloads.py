"""Output shapes of dunning: every charge tried for an order (with its decline code) and the case's state.
Extra to Polar's shapes: both SDKs ignore keys they do not know."""

from __future__ import annotations

from billing.models import DunningAttempt, Payment
from billing.orders.payloads import dunning_state_output
from polar.api.formatting import dt, sid

__all__ = ["dunning_state_output", "payment_attempt_output", "payment_attempts_output"]


def _attempt_number(payment: Payment) -> int | None:
    tail = payment.idempotency_key.rsplit(":", 1)[-1]
    return int(tail) if payment.idempotency_key.startswith("order:") and tail.isdigit() else None


def payment_attempt_output(*, payment: Payment | None, attempt: DunningAttempt | None) -> dict:
    """One attempt: a Payment (any charge of the order) and, when dunning made or recorded it, its slot."""
    return {
        "payment_id": sid(payment.id) if payment is not None else None,
        "attempt_number": _attempt_number(payment) if payment is not None else (attempt.attempt_number if attempt else None),
        "created_at": dt(payment.created_at if payment is not None else attempt.claimed_at),
        "status": payment.status if payment is not None else attempt.status,
        "amount": payment.amount if payment is not None else None,
        "currency": payment.currency if payment is not None else None,
        "decline_reason": payment.decline_reason if payment is not None else attempt.decline_code,
        "decline_message": payment.decline_message if payment is not None else attempt.decline_message,
        "trigger": payment.trigger if payment is not None else None,
        "payment_method_id": sid(payment.payment_method_id) if payment is not None else None,
        "dunning_kind": attempt.kind if attempt is not None else None,
        "dunning_slot": attempt.slot if attempt is not None else None,
        "scheduled_for": dt(attempt.scheduled_for) if attempt is not None else None,
    }


def payment_attempts_output(*, payments: list[Payment], attempts: list[DunningAttempt]) -> list[dict]:
    """Every charge of the order, oldest first, plus dunning attempts that reached no processor (no card)."""
    by_payment = {a.payment_id: a for a in attempts if a.payment_id is not None}
    rows = [payment_attempt_output(payment=p, attempt=by_payment.get(p.id)) for p in payments]
    rows += [payment_attempt_output(payment=None, attempt=a) for a in attempts if a.payment_id is None]
    return sorted(rows, key=lambda row: row["created_at"] or "")
