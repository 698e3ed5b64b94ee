"""Celery tasks of the billing app. Thin: each calls one service and is safe to run twice.

The tasks sit above the services they call and nothing in billing imports this module: the renewal
sweep sends ``billing.tasks.subscription_cycle_batch`` by name (``billing.renewals.sweep``)."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from billing.disputes.services import disputes_sync as disputes_sync_run
from billing.dunning.services import dunning_run_due
from billing.fulfilment.services import fulfilment_sweep as fulfilment_sweep_run
from billing.orders.emails import order_receipt_send as order_receipt_send_run
from billing.payments.services import PaymentProcessorTimeout
from billing.portal.sessions import customer_portal_url, customer_session_create, customer_sessions_prune
from billing.renewals.batch import subscription_cycles_run
from billing.renewals.cycle import subscription_cycle as subscription_cycle_run
from billing.renewals.late_usage import late_usage_after_end as late_usage_after_end_run
from billing.renewals.sweep import renewal_orders_charge_orphaned
from billing.renewals.sweep import renewals_sweep as renewals_sweep_run
from billing.scheduler import payments_reconcile_and_settle
from billing.usage.event_rollups import event_rollups_refresh_all
from billing.usage.partitions import ensure_partitions_ahead
from billing.usage.rollups import meter_rollups_refresh_all
from polar import clock
from polar.audit import system_actor


@shared_task(name="billing.tasks.events_partitions_ensure")
def events_partitions_ensure() -> list[str]:
    """Keep the events table's monthly partitions three months ahead (beat, daily)."""
    return ensure_partitions_ahead()


# What a retry can outlast: the network, a database restart or failover (connection refused, "the database
# system is starting up", a connection cut mid-query). The chaos run (bench/chaos.py) crashes PostgreSQL under
# a renewal batch: without the database errors here the task failed, was acked and its subscriptions waited
# for the sweep's marker to expire (10 minutes) or for payments_reconcile (5 minutes).
TRANSIENT_ERRORS = (OSError, OperationalError, InterfaceError)


class RenewalsIncomplete(Exception):
    """Some subscriptions of a batch could not be renewed or charged (each is logged with its error)."""


@shared_task(name="billing.tasks.renewals_sweep")
def renewals_sweep() -> int:
    """Beat, every minute: claim due subscriptions (skip locked) and enqueue their cycles in batches; charge
    the cycle orders whose task was lost (``renewal_orders_charge_orphaned``)."""
    with system_actor("billing.tasks.renewals_sweep"):
        enqueued = renewals_sweep_run()
        renewal_orders_charge_orphaned()
        return enqueued


@shared_task(
    name="billing.tasks.subscription_cycle",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    max_retries=5,
)
def subscription_cycle(subscription_id: str) -> str | None:
    """Renew one subscription if due and charge its unpaid cycle order. Idempotent: a second delivery
    finds the period already advanced and the charge already made (same processor key)."""
    try:
        with system_actor("billing.tasks.subscription_cycle"):
            order = subscription_cycle_run(subscription_id=subscription_id)
    except PaymentProcessorTimeout as exc:
        # The order is written and its payment pending: a retry reconciles it through the same key.
        raise subscription_cycle.retry(exc=exc, countdown=30)
    return str(order.id) if order is not None else None


@shared_task(
    bind=True,
    name="billing.tasks.subscription_cycle_batch",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    max_retries=5,
)
def subscription_cycle_batch(self, subscription_ids: list[str]) -> int:
    """Renew a batch of due subscriptions (what the sweep enqueues) and charge their cycle orders.
    Idempotent like ``subscription_cycle``: a second delivery finds nothing due and the charges made.
    Returns how many orders this run wrote.

    Retries (with backoff, at most 5): the whole batch when a database or network error escapes it, and only
    the subscriptions that failed when the batch caught their errors (a cycle order committed whose charge
    could not be recorded: the retry charges through the same processor key, so never twice)."""
    with system_actor("billing.tasks.subscription_cycle_batch"):
        result = subscription_cycles_run(subscription_ids=subscription_ids)
    # A charge the processor did not answer: retried alone later, reconciled through the same key.
    for subscription_id in result.unsettled:
        subscription_cycle.apply_async((str(subscription_id),), countdown=30)
    if result.errors:
        failed = [str(subscription_id) for subscription_id in result.errors]
        raise self.retry(
            args=(failed,),
            countdown=min(300, 5 * 2**self.request.retries),
            exc=RenewalsIncomplete(f"{len(failed)} of {len(subscription_ids)} subscriptions failed; retrying them"),
        )
    return len(result.orders)


@shared_task(name="billing.tasks.late_usage_after_end", acks_late=True, reject_on_worker_lost=True)
def late_usage_after_end() -> int:
    """Beat, hourly: bill usage that arrived after its subscription ended. Idempotent (what was billed
    is read back from the stored orders)."""
    with system_actor("billing.tasks.late_usage_after_end"):
        return late_usage_after_end_run()["orders"]


@shared_task(name="billing.tasks.payments_reconcile", acks_late=True, reject_on_worker_lost=True)
def payments_reconcile() -> dict:
    """Beat, every 5 minutes: settle payments left pending by a timeout or a crash (found at the
    processor through their idempotency key; never charged twice) and mark paid the renewal orders
    they paid."""
    with system_actor("billing.tasks.payments_reconcile"):
        return payments_reconcile_and_settle(now=clock.now())


@shared_task(name="billing.tasks.disputes_sync", acks_late=True, reject_on_worker_lost=True)
def disputes_sync() -> int:
    """Beat, every 15 minutes: record the disputes the processor reports and follow their status.
    Idempotent: a dispute is created once per processor reference and each posting once per key."""
    with system_actor("billing.tasks.disputes_sync"):
        return disputes_sync_run()


@shared_task(name="billing.tasks.fulfilment_sweep", acks_late=True, reject_on_worker_lost=True)
def fulfilment_sweep() -> dict:
    """Beat, every minute: finish fulfilment left behind after a charge (orders paid but not yet
    delivered, benefit grants recorded with an error, checkouts left confirmed, past-due subscriptions
    whose charge succeeded). Idempotent: every step checks the state first."""
    with system_actor("billing.tasks.fulfilment_sweep"):
        return fulfilment_sweep_run()


@shared_task(
    name="billing.tasks.order_receipt_send",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def order_receipt_send(order_id: str) -> bool:
    """After an order is paid (enqueued on commit by billing.orders.services): email its receipt, at most
    once per order (billing.orders.emails)."""
    return order_receipt_send_run(order_id, portal_url_for=portal_link_for)


def portal_link_for(customer) -> str:
    """A link into the customer portal for an e-mail: a fresh customer session (an hour; after that the
    portal's "link expired" page e-mails a new one). Made here because this module sits above both
    billing.orders (the receipt) and billing.portal, which reads orders, so neither imports the other."""
    _session, token = customer_session_create(customer=customer)
    return customer_portal_url(token=token)


@shared_task(name="billing.tasks.dunning_run", acks_late=True, reject_on_worker_lost=True)
def dunning_run() -> dict:
    """Beat, every hour: the dunning step (billing.dunning.services.dunning_run_due): scheduled retries
    due now, late answers settled, benefits suspended after the grace period. Each slot is claimed once."""
    with system_actor("billing.tasks.dunning_run"):
        return dunning_run_due(now=clock.now())


@shared_task(name="billing.tasks.customer_sessions_prune", acks_late=True, reject_on_worker_lost=True)
def customer_sessions_prune_task() -> int:
    """Beat, hourly: delete customer sessions expired more than a week ago. Idempotent."""
    with system_actor("billing.tasks.customer_sessions_prune"):
        return customer_sessions_prune()


@shared_task(name="billing.tasks.meter_rollups_refresh", acks_late=True, reject_on_worker_lost=True)
def meter_rollups_refresh() -> int:
    """Beat, every minute: add newly ingested events to the hourly meter rollups (billing/usage/rollups.py)."""
    return meter_rollups_refresh_all()


@shared_task(name="billing.tasks.event_rollups_refresh", acks_late=True, reject_on_worker_lost=True)
def event_rollups_refresh() -> int:
    """Beat, every minute: add newly ingested events to the costs and activity rollups (billing/usage/event_rollups.py)."""
    return event_rollups_refresh_all()
