"""Celery tasks of the ledger. Thin: each calls one service and is safe to run twice."""

import structlog
from celery import shared_task

from payouts.checks import ledger_check_record
from payouts.postings import payments_release_due
from polar import clock
from polar.audit import system_actor

logger = structlog.get_logger(__name__)


@shared_task(name="payouts.tasks.ledger_release_due", acks_late=True, reject_on_worker_lost=True)
def ledger_release_due() -> int:
    """Beat, hourly: move the funds of payments past their holding period from pending to available
    (one ``release`` transaction per payment, idempotent by its key)."""
    with system_actor("payouts.tasks.ledger_release_due"):
        return payments_release_due(now=clock.now())


@shared_task(name="payouts.tasks.ledger_check", acks_late=True, reject_on_worker_lost=True)
def ledger_check() -> int:
    """Beat, nightly: verify the ledger's invariants and keep the breach count for the
    ``polar_ledger_breaches`` gauge (each breach is logged; ``manage.py ledger_check`` prints them)."""
    breaches = ledger_check_record()
    for breach in breaches[:100]:
        logger.error("ledger.breach", invariant=breach.invariant, detail=[str(v) for v in breach.detail])
    return len(breaches)
