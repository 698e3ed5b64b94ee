"""One slow receiver must not hold a worker, nor see the same event from two workers at once: the attempt's
wall-clock deadline, the lease that outlives it, and one attempt per task run for slow receivers.

Receivers are real HTTP servers on 127.0.0.1 that drip their answer; each stops after a few seconds or when
the client goes away, so every test is bounded in time whatever the code does."""

import datetime as dt
import http.server
import threading
import time

import pytest
from django.conf import settings as django_settings
from django.db import connection

from polar import clock
from polar.webhooks import policy, services
from polar.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt

from .conftest import T0

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status

# How long a dripping receiver keeps dripping at most (the test's own bound, far above the deadlines used).
DRIP_FOR_SECONDS = 6


class SlowReceiver:
    """Answers POSTs slowly. ``mode``: "headers" drips the status line's headers a byte a second, "body"
    sends the headers then drips the body a byte a second, "slow-ok" answers 200 after ``delay`` seconds,
    anything else answers ``status`` at once. Records when each request arrived and when it ended."""

    def __init__(self):
        self.mode = "fast"
        self.status = 200
        self.delay = 0.0
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                record = {"path": self.path, "webhook-id": self.headers.get("webhook-id"), "start": time.monotonic()}
                with receiver.lock:
                    receiver.requests.append(record)
                try:
                    self.answer(receiver.mode)
                except OSError:
                    pass  # the client gave up (the deadline): that is the point
                finally:
                    record["end"] = time.monotonic()
                    self.close_connection = True

            def answer(self, mode):
                if mode == "headers":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nx-drip: ")
                    for _ in range(DRIP_FOR_SECONDS):
                        self.wfile.write(b"a")
                        time.sleep(1)
                    self.wfile.write(b"\r\ncontent-length: 2\r\n\r\nok")
                elif mode == "body":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % DRIP_FOR_SECONDS)
                    for _ in range(DRIP_FOR_SECONDS):
                        self.wfile.write(b"a")
                        time.sleep(1)
                else:
                    if mode == "slow-ok":
                        time.sleep(receiver.delay)
                    self.send_response(receiver.status)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def slow_receiver():
    receiver = SlowReceiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def failed_once(organization, slow_receiver, emit):
    """An endpoint on the slow receiver whose first event got a 500, so it waits, due at T0 + ~5 s."""

    def make(events=1):
        endpoint = services.webhook_endpoint_create(
            organization=organization, url=slow_receiver.url, events=["subscription.created"]
        )
        slow_receiver.mode, slow_receiver.status = "fast", 500
        for _ in range(events):
            emit(organization)
        assert len(slow_receiver.requests) == 1
        slow_receiver.status = 200
        return endpoint

    return make


DUE = T0 + dt.timedelta(seconds=10)


def test_the_lease_outlasts_the_attempt_deadline():
    deadline = dt.timedelta(seconds=django_settings.WEBHOOK_DELIVERY_DEADLINE_SECONDS)
    assert deadline == dt.timedelta(seconds=10)
    assert policy.delivery_lease() >= deadline + dt.timedelta(seconds=30)


@pytest.mark.parametrize("mode", ["headers", "body"])
def test_a_dripping_receiver_is_cut_at_the_deadline_and_the_delivery_retried(settings, slow_receiver, failed_once, mode):
    settings.WEBHOOK_DELIVERY_DEADLINE_SECONDS = 1.5
    endpoint = failed_once()
    slow_receiver.mode = mode

    started = time.monotonic()
    with clock.freeze(DUE):
        services.webhook_endpoint_deliver(endpoint_id=endpoint.id)
    elapsed = time.monotonic() - started

    assert elapsed < 1.5 + 1.0
    second = WebhookDeliveryAttempt.objects.get(endpoint=endpoint, number=2)
    assert (second.succeeded, second.http_code) == (False, None)
    assert second.response == "Deadline exceeded: no complete answer within 1.5s."
    assert 1400 <= second.duration_ms < 2500
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.retry_count) == (Status.PENDING, 2)
    assert delivery.next_attempt_at == second.next_attempt_at > DUE  # scheduled: a retry, not given up
    # The lease was released with the attempt: the endpoint is free for its retry.
    endpoint.refresh_from_db()
    assert endpoint.lease_token is None


def test_a_receiver_never_answering_is_cut_at_the_deadline(settings, slow_receiver, failed_once):
    """A receiver that accepts and then says nothing: the per-operation timeout (10 s) is longer than the
    deadline, which wins."""
    settings.WEBHOOK_DELIVERY_DEADLINE_SECONDS = 1.0
    endpoint = failed_once()
    slow_receiver.mode, slow_receiver.delay = "slow-ok", DRIP_FOR_SECONDS

    started = time.monotonic()
    with clock.freeze(DUE):
        services.webhook_endpoint_deliver(endpoint_id=endpoint.id)
    assert time.monotonic() - started < 2.0
    attempt = WebhookDeliveryAttempt.objects.get(endpoint=endpoint, number=2)
    assert attempt.response == "Deadline exceeded: no complete answer within 1s."


def test_a_slow_receiver_gets_one_attempt_per_task_run_then_yields_the_worker(settings, slow_receiver, failed_once):
    """Three events wait for a receiver that takes 1.2 s to say 200: one task run sends one of them and asks
    to be re-enqueued (behind other endpoints) instead of holding its worker for all three."""
    endpoint = failed_once(events=3)
    slow_receiver.mode, slow_receiver.delay = "slow-ok", 1.2

    started = time.monotonic()
    with clock.freeze(DUE):
        more = services.webhook_endpoint_deliver(endpoint_id=endpoint.id)
    elapsed = time.monotonic() - started

    assert more is True
    assert len(slow_receiver.requests) == 2  # the first 500, then one 200
    assert elapsed < policy.DELIVERY_DRAIN_SECONDS + django_settings.WEBHOOK_DELIVERY_DEADLINE_SECONDS
    assert sorted(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("status", flat=True)) == [
        Status.PENDING,
        Status.PENDING,
        Status.SUCCEEDED,
    ]


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_on_a_due_delivery_send_it_once(settings, slow_receiver, failed_once):
    """Worker A starts sending to a slow receiver; worker B, whose host clock runs 3 minutes ahead, comes for
    the same due delivery half a second later. The lease is judged on the database's clock and outlives A's
    attempt, so B skips the endpoint: the receiver sees one request, never two at once."""
    settings.WEBHOOK_DELIVERY_DEADLINE_SECONDS = 2.0
    endpoint = failed_once()
    slow_receiver.mode = "body"
    errors = []

    def worker(at, wait):
        try:
            time.sleep(wait)
            with clock.freeze(at):
                services.webhook_endpoint_deliver(endpoint_id=endpoint.id)
        except Exception as error:  # noqa: BLE001 - reported to the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(DUE, 0)),
        threading.Thread(target=worker, args=(DUE + dt.timedelta(minutes=3), 0.5)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DRIP_FOR_SECONDS + 5)

    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    _first, *others = slow_receiver.requests[1:]
    assert others == []
    assert WebhookDeliveryAttempt.objects.filter(endpoint=endpoint).count() == 2
