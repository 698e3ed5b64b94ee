"""Claiming due subscriptions: the sweep that enqueues their cycles, and the synchronous run of
``run_billing`` that renews them in this process.

``renewals_sweep`` (beat, every minute, ``billing.tasks.renewals_sweep``) claims subscriptions whose
``current_period_end <= now`` with ``select_for_update(skip_locked=True)`` in ``current_period_end, id``
order, in batches, and enqueues ``billing.tasks.subscription_cycle_batch`` tasks with
``transaction.on_commit``. Two sweeps never claim the same row at once; a row enqueued twice (two beats
before the task ran) is harmless because the cycle itself is idempotent (``billing.renewals.cycle``).

The task is sent by its name (``SUBSCRIPTION_CYCLE_BATCH_TASK``), so renewals does not import
``billing.tasks``: the tasks sit above the services they call.
"""

from __future__ import annotations

import datetime as dt
import uuid

import structlog
from django.core.cache import cache
from django.db import transaction

from billing.models import Order, OrderBillingReason, OrderStatus, Subscription, SubscriptionStatus
from billing.renewals.batch import BATCH_SIZE, subscription_cycles_run
from billing.renewals.cycle import renewal_order_charge
from polar import clock
from polar.celery import app as celery_app

logger = structlog.get_logger(__name__)

SWEEP_BATCH_SIZE = 500
# The task a claimed batch is sent to (billing.tasks.subscription_cycle_batch), by name.
SUBSCRIPTION_CYCLE_BATCH_TASK = "billing.tasks.subscription_cycle_batch"


def _due_queryset(now: dt.datetime):
    return Subscription.objects.filter(status__in=Subscription.RENEWABLE_STATUSES, current_period_end__lte=now).order_by(
        "current_period_end", "id"
    )


def renewals_claim(*, now: dt.datetime | None = None, limit: int = SWEEP_BATCH_SIZE, exclude=()) -> list[uuid.UUID]:
    """Lock and return the ids of up to ``limit`` due subscriptions, skipping rows another sweep or a
    running cycle holds. Must run inside the caller's transaction (the locks last until it ends)."""
    now = now or clock.now()
    queryset = _due_queryset(now)
    if exclude:
        queryset = queryset.exclude(pk__in=list(exclude))
    return list(queryset.select_for_update(skip_locked=True, of=("self",)).values_list("id", flat=True)[:limit])


# A subscription enqueued by a sweep is not enqueued again by the next sweeps for this long (per
# period end), so a backlog longer than the beat interval does not pile duplicate tasks up in the
# queue. Only an optimisation: a duplicate task is a no-op, and a lost one is re-sent after it.
ENQUEUED_MARKER_TTL = 600


def _mark_enqueued(subscription_id, period_end: dt.datetime) -> bool:
    return cache.add(f"renewals:enqueued:{subscription_id}:{period_end.timestamp():.0f}", 1, timeout=ENQUEUED_MARKER_TTL)


def renewals_sweep(*, now: dt.datetime | None = None, batch_size: int = SWEEP_BATCH_SIZE, max_batches: int = 100) -> int:
    """Enqueue the due subscriptions' cycles; returns how many subscriptions were enqueued.

    Each batch is claimed in its own short transaction (``skip_locked``) and its tasks are sent on
    commit, so a task never starts before the claim is released and a rollback sends nothing. The
    claimed ids go out as ``billing.tasks.subscription_cycle_batch`` tasks of up to
    ``renewals_batch.BATCH_SIZE`` subscriptions each (see ``renewals_batch``). A row already enqueued
    for the same period end within ``ENQUEUED_MARKER_TTL`` is skipped (a Redis marker); should it be
    enqueued twice anyway, the cycle is idempotent.
    """
    now = now or clock.now()
    seen: set[uuid.UUID] = set()
    enqueued = 0
    for _ in range(max_batches):
        with transaction.atomic():
            ids = renewals_claim(now=now, limit=batch_size, exclude=seen)
            ends = dict(Subscription.objects.filter(pk__in=ids).values_list("id", "current_period_end"))
            chosen = [str(sid) for sid in ids if _mark_enqueued(sid, ends[sid])]
            for start in range(0, len(chosen), BATCH_SIZE):
                chunk = chosen[start : start + BATCH_SIZE]
                # robust: a lost enqueue (broker down) is re-sent by a sweep once its marker expires.
                transaction.on_commit(lambda chunk=chunk: _enqueue_batch(chunk), robust=True)
            enqueued += len(chosen)
        seen.update(ids)
        if len(ids) < batch_size:
            break
    if enqueued:
        logger.info("renewals.sweep", enqueued=enqueued, now=now.isoformat())
    return enqueued


# A cycle order is charged by the task that wrote it, seconds later. One still pending with no payment at all
# after this long has lost that task: the chaos run (bench/chaos.py) killed a worker holding the batch's retry
# (a countdown task waits in the worker's memory; the broker gives it back only after its visibility timeout,
# an hour), and the subscriptions, already advanced, were no longer due for the sweep.
ORPHANED_CYCLE_ORDER_AGE = dt.timedelta(minutes=2)


def renewal_orders_charge_orphaned(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Charge the cycle orders left pending, with no payment, for longer than ``ORPHANED_CYCLE_ORDER_AGE``
    (beat, with the sweep). Safe beside a late task charging the same order: the processor key is the order's
    (``order:<id>:attempt:1``) and ``renewal_order_charge`` re-reads the order first. ``now`` is compared with
    ``created_at``, the wall clock. Returns how many orders were charged (or found settled)."""
    now = now or dt.datetime.now(dt.UTC)
    orders = list(
        Order.objects.filter(
            billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE,
            status=OrderStatus.PENDING,
            payments__isnull=True,
            created_at__lte=now - ORPHANED_CYCLE_ORDER_AGE,
            # Not one that dunning has taken over (no payment method, a usage-only bill): those have their own
            # schedule, and charging them here would run the payment-failed hooks every minute.
            payment_attempts=0,
            next_payment_attempt_at__isnull=True,
            subscription__status__in=(SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING),
        ).order_by("created_at")[:limit]
    )
    for order in orders:
        try:
            renewal_order_charge(order=order)
        except Exception:  # one order's trouble must not hold the others; it is tried again next minute
            logger.exception("renewals.orphaned_charge_failed", order_id=str(order.id))
    if orders:
        logger.warning("renewals.orphaned_cycle_orders_charged", orders=len(orders))
    return len(orders)


def _enqueue_batch(subscription_ids: list[str]) -> None:
    # A signature by name: the registered task (eager in tests), or a plain send where it is not loaded.
    celery_app.signature(SUBSCRIPTION_CYCLE_BATCH_TASK).delay(subscription_ids)


# --- run_billing: renew what is due in this process ------------------------------------------------


def renewals_run_due(*, now: dt.datetime | None = None, batch_size: int = SWEEP_BATCH_SIZE) -> dict:
    """Renew, in this process, every subscription due at ``now`` until none is (a subscription three
    periods behind gets three cycles), in batches as the workers do (``renewals_batch``). A
    subscription whose cycle raises is reported and skipped for the rest of the run. Returns
    ``{"cycles": n, "orders": n, "unsettled": n, "errors": [...]}``."""
    now = now or clock.now()
    cycles = orders = unsettled = 0
    failed: dict[uuid.UUID, str] = {}
    while True:
        with transaction.atomic():
            ids = renewals_claim(now=now, limit=batch_size, exclude=failed.keys())
        if not ids:
            break
        for start in range(0, len(ids), BATCH_SIZE):
            result = subscription_cycles_run(subscription_ids=ids[start : start + BATCH_SIZE])
            failed.update(result.errors)
            cycles += result.processed - len(result.errors)
            orders += len(result.orders)
            unsettled += len(result.unsettled)
    # ``unsettled``: charges the processor did not answer; the reconcile_payments step (and the next
    # runs) settle them through the same key.
    return {"cycles": cycles, "orders": orders, "unsettled": unsettled, "errors": [f"{k}: {v}" for k, v in failed.items()]}
