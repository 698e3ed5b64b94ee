"""The Celery broker is a setting (``CELERY_BROKER_URL``): RabbitMQ carries the same tasks as Redis. A real
worker on an AMQP broker (RabbitMQ at 127.0.0.1:5672, guest/guest, as on the development machine; the URL can
be changed with ``POLAR_TEST_RABBITMQ_URL``) runs a renewal batch sent by name, and the webhook deliveries that
the renewal's outbox rows enqueue go through the same broker to a receiver on 127.0.0.1."""

import datetime as dt
import os
import socket
import uuid
from urllib.parse import urlparse

import pytest
from kombu import Connection

from billing.models import Order, OrderStatus, Subscription
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

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:task_always_eager has no effect"),
]

BROKER_URL = os.environ.get("POLAR_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def _rabbitmq_listening() -> bool:
    address = urlparse(BROKER_URL)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((address.hostname or "127.0.0.1", address.port or 5672)) == 0


@pytest.fixture
def queue():
    if not _rabbitmq_listening():
        pytest.skip(f"no RabbitMQ at {BROKER_URL} (set POLAR_TEST_RABBITMQ_URL)")
    name = f"polar-test-{uuid.uuid4().hex[:12]}"
    yield name
    with Connection(BROKER_URL) as broker:
        broker.default_channel.queue_delete(name)


def test_a_renewal_batch_and_its_webhooks_go_through_rabbitmq(subscription, make_endpoint, receiver, queue, tmp_path):  # noqa: F811 (subscription)
    from polar.celery import app

    endpoint = make_endpoint(path="/rabbit", events=("order.created", "order.paid"), org=subscription.organization)
    now = clock.now()
    Subscription.objects.filter(pk=subscription.pk).update(
        current_period_start=now - dt.timedelta(days=31), current_period_end=now - dt.timedelta(minutes=1)
    )
    worker, log_path = start_worker(
        tmp_path,
        f"rabbit-{queue}",
        settings_module="tests.ops.rabbitmq_worker_settings",
        env={"POLAR_TEST_BROKER_URL": BROKER_URL, "POLAR_TEST_QUEUE": queue},
        pool="solo",
        queues=queue,
    )
    try:
        # Sent by name on the AMQP connection, to the worker's queue: the test process's own app keeps Redis.
        with Connection(BROKER_URL) as broker:
            app.send_task("billing.tasks.subscription_cycle_batch", args=[[str(subscription.id)]], connection=broker, queue=queue)

        def delivered() -> bool:
            types = {request["payload"]["type"] for request in receiver.at("/rabbit") if request["payload"]}
            return {"order.created", "order.paid"} <= types

        wait_for(delivered, 90, "the renewal's webhooks at the receiver", log_path)
    finally:
        stop(worker)

    log = log_path.read_text()
    assert "Connected to amqp://" in log, log[-3000:]
    assert "Task billing.tasks.subscription_cycle_batch[" in log and "succeeded" in log, log[-3000:]
    # The deliveries were tasks of this worker, enqueued on RabbitMQ by the renewal (not run inline).
    assert "Task polar.webhooks.tasks.webhook_endpoint_deliver[" in log, log[-3000:]
    (order,) = Order.objects.filter(subscription=subscription, billing_reason="subscription_cycle")
    assert order.status == OrderStatus.PAID
    requests = receiver.at("/rabbit")
    assert all(request["error"] is None for request in requests)
    assert {request["payload"]["data"]["id"] for request in requests} == {str(order.id)}
    assert endpoint.organization_id == order.organization_id
