"""Celery tasks of the ledger. Thin: each calls one service and is safe to run twice."""

from celery import shared_task

from payouts.postings import payments_release_due
from polar import clock
from polar.audit import system_actor


@shared_task(name="payouts.tasks.ledger_release_due", acks_late=True, reject_on_worker_lost=True)
def ledger_release_due() -> int:
    """Beat, hourly: move the funds of payments past their holding period from pending to available
    (one ``release`` transaction per payment, idempotent by its key)."""
    with system_actor("payouts.tasks.ledger_release_due"):
        return payments_release_due(now=clock.now())
