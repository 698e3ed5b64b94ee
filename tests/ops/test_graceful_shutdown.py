"""Graceful shutdown with real processes: SIGTERM to a Celery worker while a renewal batch runs. The worker
warm-shuts down: the running task finishes, its message is acknowledged then (acks_late) and nothing is left in
the broker, so no other worker runs it again: one order, one charge."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

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


def _start_worker(tmp_path: Path, name: str, extra_env: dict) -> tuple[subprocess.Popen, Path]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.ops.shutdown_worker_settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        **extra_env,
    }
    log_path = tmp_path / f"{name}.log"
    command = [sys.executable, "-m", "celery", "-A", "polar", "worker", "-P", "prefork", "-c", "1"]
    command += ["-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"]
    process = subprocess.Popen(
        command,
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, log_path


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


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
    worker, log_path = _start_worker(tmp_path, "graceful", {"SHUTDOWN_SLOW_POINT": f"after_order:{marker}"})
    second = None
    try:
        app.send_task("billing.tasks.subscription_cycle_batch", args=[[str(subscription.id)]])
        _wait_for(marker.exists, 90, "the worker to be inside the renewal")
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
        second, second_log = _start_worker(tmp_path, "second", {})
        time.sleep(6)
        assert "Task billing.tasks.subscription_cycle_batch[" not in second_log.read_text()
    finally:
        for process in (worker, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        _flush_queue()

    (order,) = _cycle_orders(subscription)
    assert order.status == OrderStatus.PAID
    (payment,) = Payment.objects.filter(order=order)
    assert payment.status == Payment.Status.SUCCEEDED
    assert SandboxCharge.objects.filter(idempotency_key__startswith=f"order:{order.id}:", status="succeeded").count() == 1
