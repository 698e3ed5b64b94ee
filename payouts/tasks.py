"""Celery tasks of the ledger. Thin: each calls one service and is safe to run twice."""

import structlog
from celery import shared_task

from payouts import services
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


@shared_task(name="payouts.tasks.payout_send", acks_late=True, reject_on_worker_lost=True)
def payout_send(payout_id: str) -> str:
    """After a payout request commits: send it to the payout processor (a no-op once sent)."""
    with system_actor("payouts.tasks.payout_send"):
        return services.payout_send(payout_id=payout_id).status


@shared_task(name="payouts.tasks.payouts_process", acks_late=True, reject_on_worker_lost=True)
def payouts_process() -> dict:
    """Beat, every 15 minutes: send pending payouts, settle the in-transit ones due (succeeded/failed)."""
    with system_actor("payouts.tasks.payouts_process"):
        return services.payouts_process(now=clock.now())


@shared_task(name="payouts.tasks.payouts_weekly", acks_late=True, reject_on_worker_lost=True)
def payouts_weekly() -> int:
    """Beat, hourly: the automatic weekly payouts (one per organization and ISO week, by its trigger key)."""
    with system_actor("payouts.tasks.payouts_weekly"):
        return services.payouts_weekly(now=clock.now())
