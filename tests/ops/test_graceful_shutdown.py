"""Graceful shutdown with real processes: SIGTERM to a Celery worker while a renewal batch runs. The worker
warm-shuts down: the running task finishes, its message is acknowledged then (acks_late) and nothing is left in
the broker, so no other worker runs it again: one order, one charge."""

import datetime as dt
import os
import signal
import time

import pytest
import redis
from django.conf import settings as django_settings

from billing.models import Order, OrderStatus, Payment, SandboxCharge, Subscription
from polar import clock
from tests.billing.renewals.conftest import (  # noqa: F401 (fixtures)
    card,
    customer,
    meter,
    product,
    sandbox_normal,
    subscription,
)
from tests.ops.processes import start_worker, stop, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _broker():
    return redis.Redis.from_url(django_settings.CELERY_BROKER_URL)


def _flush_queue():
    _broker().delete("celery", "unacked", "unacked_index", "unacked_mutex")


def _batch_messages() -> int:
    """Messages of the renewal batch task waiting in the queue or taken and not acknowledged."""
    broker = _broker()
    raw = [*broker.lrange("celery", 0, -1), *broker.hvals("unacked")]
    return sum(1 for message in raw if b"billing.tasks.subscription_cycle_batch" in message)


def _cycle_orders(of):
    return list(Order.objects.filter(subscription=of, billing_reason="subscription_cycle"))


@pytest.mark.filterwarnings("ignore:task_always_eager has no effect")
def test_sigterm_during_a_renewal_batch_finishes_it_and_loses_or_doubles_nothing(subscription, tmp_path):  # noqa: F811
    from polar.celery import app

    _flush_queue()
    marker = tmp_path / "running"
    now = clock.now()
    Subscription.objects.filter(pk=subscription.pk).update(
        current_period_start=now - dt.timedelta(days=31), current_period_end=now - dt.timedelta(minutes=1)
    )
    worker, log_path = start_worker(tmp_path, "graceful", env={"SHUTDOWN_SLOW_POINT": f"after_order:{marker}"})
    second = None
    try:
        app.send_task("billing.tasks.subscription_cycle_batch", args=[[str(subscription.id)]])
        wait_for(marker.exists, 90, "the worker to be inside the renewal")
        # What an orchestrator does on a deploy: SIGTERM to the worker's main process (PID 1 of its container).
        os.kill(worker.pid, signal.SIGTERM)
        assert worker.wait(60) == 0, log_path.read_text()[-3000:]
        log = log_path.read_text()
        assert "Task billing.tasks.subscription_cycle_batch[" in log and "succeeded" in log, log[-3000:]
        assert "Warm shutdown" in log or "warm shutdown" in log.lower(), log[-3000:]
        # The message was acknowledged when the task finished: nothing waits or hides in the broker (the
        # paid order's follow-ups, such as its receipt, may wait: they are other tasks).
        assert _batch_messages() == 0
        # A second worker (after the 2 s visibility timeout) finds nothing to run again.
        second, second_log = start_worker(tmp_path, "second")
        time.sleep(6)
        assert "Task billing.tasks.subscription_cycle_batch[" not in second_log.read_text()
    finally:
        for process in (worker, second):
            stop(process, graceful=False)
        _flush_queue()

    (order,) = _cycle_orders(subscription)
    assert order.status == OrderStatus.PAID
    (payment,) = Payment.objects.filter(order=order)
    assert payment.status == Payment.Status.SUCCEEDED
    assert SandboxCharge.objects.filter(idempotency_key__startswith=f"order:{order.id}:", status="succeeded").count() == 1
