"""Exactly once under faults, on real PostgreSQL (and a real Celery worker process for the crash):
two concurrent sweeps, a task delivered twice, a worker killed between the order and the charge.
Each ends with one cycle order and at most one successful charge."""

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections

from billing.models import Order, OrderStatus, Payment, SandboxCharge, Subscription
from billing.renewals import cycle as renewals
from billing.renewals import sweep
from billing.tasks import subscription_cycle as cycle_task
from polar import clock

from .conftest import T0

pytestmark = pytest.mark.django_db(transaction=True)
DUE = dt.datetime(2026, 2, 28, 12, 0, tzinfo=dt.UTC)


def _cycle_orders(subscription):
    return list(Order.objects.filter(subscription=subscription, billing_reason="subscription_cycle"))


def _succeeded_charges(order):
    return SandboxCharge.objects.filter(idempotency_key__startswith=f"order:{order.id}:", status="succeeded").count()


def _in_threads(fn, n=2):
    barrier = threading.Barrier(n)
    errors = []

    def run():
        try:
            barrier.wait()
            with clock.freeze(DUE):
                fn()
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []


def test_two_concurrent_sweeps_make_one_order_and_one_charge(subscription):
    _in_threads(lambda: sweep.renewals_sweep())  # tasks run eagerly, on commit of each sweep's claim

    (order,) = _cycle_orders(subscription)
    assert order.status == OrderStatus.PAID
    assert _succeeded_charges(order) == 1
    subscription.refresh_from_db()
    assert subscription.current_period_start == DUE


def test_two_concurrent_cycles_of_one_subscription_make_one_order(subscription):
    _in_threads(lambda: renewals.subscription_cycle(subscription_id=subscription.id))

    (order,) = _cycle_orders(subscription)
    assert _succeeded_charges(order) == 1
    assert Payment.objects.filter(order=order).count() == 1


def test_task_delivered_twice_makes_one_order_and_one_charge(subscription):
    with clock.freeze(DUE):
        cycle_task.apply(args=[str(subscription.id)])
        cycle_task.apply(args=[str(subscription.id)])

    (order,) = _cycle_orders(subscription)
    assert (order.status, order.payment_attempts) == (OrderStatus.PAID, 1)
    assert Payment.objects.filter(order=order).count() == 1
    assert _succeeded_charges(order) == 1


def test_batch_task_delivered_twice_makes_one_order_and_one_charge(subscription):
    from billing.tasks import subscription_cycle_batch

    with clock.freeze(DUE):
        assert subscription_cycle_batch.apply(args=[[str(subscription.id)]]).get() == 1
        assert subscription_cycle_batch.apply(args=[[str(subscription.id)]]).get() == 0

    (order,) = _cycle_orders(subscription)
    assert (order.status, order.payment_attempts) == (OrderStatus.PAID, 1)
    assert Payment.objects.filter(order=order).count() == 1
    assert _succeeded_charges(order) == 1


def test_redelivery_after_a_crash_before_the_charge_charges_the_pending_order_once(subscription):
    with clock.freeze(DUE):
        order = renewals.subscription_cycle_advance(subscription_id=subscription.id)  # then "crash"
        assert order.status == OrderStatus.PENDING
        cycle_task.apply(args=[str(subscription.id)])
        cycle_task.apply(args=[str(subscription.id)])

    assert [o.id for o in _cycle_orders(subscription)] == [order.id]
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert _succeeded_charges(order) == 1


def test_duplicate_order_insert_is_treated_as_already_done(subscription):
    """The unique constraint is the last line of defence: with the period rolled back by hand, the
    second cycle's insert fails and the cycle reports "already done" instead of raising."""
    with clock.freeze(DUE):
        first = renewals.subscription_cycle(subscription_id=subscription.id)
        Subscription.objects.filter(pk=subscription.pk).update(current_period_start=T0, current_period_end=DUE)
        assert renewals.subscription_cycle(subscription_id=subscription.id) is None
    assert [o.id for o in _cycle_orders(subscription)] == [first.id]
    subscription.refresh_from_db()
    # The period is advanced past the boundary the existing order billed, so no sweep loops on it.
    assert (subscription.current_period_start, subscription.credit_balance) == (DUE, 0)


# --- a real worker, killed with SIGKILL between the order commit and the charge --------------------


def _redis_flush_queue():
    import redis

    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    client.delete("celery", "unacked", "unacked_index", "unacked_mutex")


def _start_worker(tmp_path: Path, name: str, extra_env: dict) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.billing.renewals.worker_settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        **extra_env,
    }
    log = open(tmp_path / f"{name}.log", "w")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "polar",
            "worker",
            "-P",
            "prefork",
            "-c",
            "1",
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "INFO",
        ],
        cwd=django_settings.BASE_DIR if hasattr(django_settings, "BASE_DIR") else os.getcwd(),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
@pytest.mark.parametrize("task", ["billing.tasks.subscription_cycle", "billing.tasks.subscription_cycle_batch"])
def test_worker_killed_between_order_and_charge_then_a_new_worker_charges_once(subscription, tmp_path, task):
    from polar.celery import app

    _redis_flush_queue()
    marker = tmp_path / "crashed"
    # The subscription is due "now" for the worker too: move its period into the real past.
    now = clock.now()
    Subscription.objects.filter(pk=subscription.pk).update(
        current_period_start=now - dt.timedelta(days=31), current_period_end=now - dt.timedelta(minutes=1)
    )
    first = _start_worker(tmp_path, "first", {"RENEWALS_CRASH_POINT": f"after_order:{marker}"})
    second = None
    try:
        # The single task takes an id; the batch task (what the sweep sends) a list of ids.
        args = [str(subscription.id)] if task.endswith("subscription_cycle") else [[str(subscription.id)]]
        app.send_task(task, args=args)
        _wait_for(marker.exists, 90, "the first worker to reach the crash point")
        (order,) = _cycle_orders(subscription)
        assert order.status == OrderStatus.PENDING and not Payment.objects.filter(order=order).exists()
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)

        second = _start_worker(tmp_path, "second", {})
        _wait_for(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.PAID, 120, "the second worker to charge the order")
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        _redis_flush_queue()

    assert [o.id for o in _cycle_orders(subscription)] == [order.id]
    (payment,) = Payment.objects.filter(order=order)
    assert (payment.status, payment.idempotency_key) == (Payment.Status.SUCCEEDED, f"order:{order.id}:attempt:1")
    assert _succeeded_charges(order) == 1


def test_a_database_error_escaping_a_batch_retries_it_and_charges_once(subscription):
    # The chaos run crashed PostgreSQL under a batch: the OperationalError escaped the task, which was acked
    # and not retried (only OSError was), so its subscriptions waited for the sweep's marker to expire.
    from django.db import OperationalError

    from billing.tasks import subscription_cycle_batch

    calls = []

    def cut_once(name):
        calls.append(name)
        if len(calls) == 1:
            raise OperationalError("consuming input failed: server closed the connection unexpectedly")

    renewals.CHECKPOINT_HOOKS.append(cut_once)
    try:
        with clock.freeze(DUE):
            # throw=False: an eager apply runs the retry itself, as a worker would (the suite propagates errors).
            subscription_cycle_batch.apply(args=[[str(subscription.id)]], throw=False)
    finally:
        renewals.CHECKPOINT_HOOKS.remove(cut_once)

    assert calls == ["after_order", "after_order"]
    (order,) = _cycle_orders(subscription)
    assert (order.status, order.payment_attempts) == (OrderStatus.PAID, 1)
    assert Payment.objects.filter(order=order).count() == 1
    assert _succeeded_charges(order) == 1


def test_a_cycle_order_whose_task_was_lost_is_charged_once_by_the_sweep(subscription):
    # The chaos run killed a worker holding the batch's retry: the order was written, the subscription advanced
    # (no longer due), and the charge waited for the broker's visibility timeout (an hour).
    from billing.renewals.sweep import ORPHANED_CYCLE_ORDER_AGE, renewal_orders_charge_orphaned

    with clock.freeze(DUE):
        order = renewals.subscription_cycle_advance(subscription_id=subscription.id)  # then the task is lost
    written = dt.datetime.now(dt.UTC)
    assert renewal_orders_charge_orphaned(now=written + ORPHANED_CYCLE_ORDER_AGE / 2) == 0  # its task may still run
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING

    assert renewal_orders_charge_orphaned(now=written + ORPHANED_CYCLE_ORDER_AGE * 2) == 1
    assert renewal_orders_charge_orphaned(now=written + ORPHANED_CYCLE_ORDER_AGE * 2) == 0
    with clock.freeze(DUE):
        cycle_task.apply(args=[str(subscription.id)])  # the lost task comes back after all: nothing more
    order.refresh_from_db()
    assert (order.status, order.payment_attempts) == (OrderStatus.PAID, 1)
    assert Payment.objects.filter(order=order).count() == 1
    assert _succeeded_charges(order) == 1


def test_the_orphan_charge_leaves_an_order_dunning_has_taken_alone(subscription):
    from billing.renewals.sweep import ORPHANED_CYCLE_ORDER_AGE, renewal_orders_charge_orphaned

    with clock.freeze(DUE):
        order = renewals.subscription_cycle_advance(subscription_id=subscription.id)
    subscription.refresh_from_db()
    subscription.status = "past_due"
    subscription.save(update_fields=["status"])
    assert renewal_orders_charge_orphaned(now=dt.datetime.now(dt.UTC) + ORPHANED_CYCLE_ORDER_AGE * 2) == 0
    assert Payment.objects.filter(order=order).count() == 0
