"""A real HTTP receiver in a thread that verifies Standard Webhooks signatures, and helpers to drive the
outbox through its tasks with the business clock moved (never slept)."""

import datetime as dt
import http.server
import json
import threading
from collections import defaultdict, deque

import pytest
from django.db import transaction
from standardwebhooks import Webhook, WebhookVerificationError

from polar import clock
from polar.webhooks import services, tasks

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


class Receiver:
    """Answers POSTs on any path. Per path: the secret to verify with and the statuses to answer."""

    def __init__(self):
        self.requests: list[dict] = []
        self.secrets: dict[str, str] = {}
        self.statuses: dict[str, deque] = defaultdict(deque)
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {key.lower(): value for key, value in self.headers.items()}
                verified, error = None, None
                secret = receiver.secrets.get(self.path)
                try:
                    verified = Webhook(secret).verify(body, headers) if secret else None
                except WebhookVerificationError as exc:
                    error = str(exc)
                with receiver.lock:
                    queue = receiver.statuses[self.path]
                    status = queue.popleft() if queue else 200
                    receiver.requests.append(
                        {"path": self.path, "headers": headers, "body": body, "payload": verified, "error": error}
                    )
                answer = json.dumps({"received": status}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path="/hook", host="127.0.0.1"):
        return f"http://{host}:{self.port}{path}"

    def at(self, path):
        return [request for request in self.requests if request["path"] == path]


@pytest.fixture
def receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def make_endpoint(organization, receiver):
    """Create an endpoint through the service, pointing at the receiver, and teach the receiver its secret."""

    def make(path="/hook", events=("subscription.created", "subscription.updated"), org=None, **kwargs):
        endpoint = services.webhook_endpoint_create(
            organization=org or organization, url=receiver.url(path), events=list(events), **kwargs
        )
        receiver.secrets[path] = endpoint.secret
        return endpoint

    return make


@pytest.fixture
def emit(django_capture_on_commit_callbacks):
    """Emit an event in a committed transaction and run what its commit schedules (eager Celery)."""

    def run(organization, type="subscription.created", data=None, at=T0):
        with clock.freeze(at), django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                return services.webhook_event_emit(
                    organization=organization, type=type, data=data if data is not None else {"id": "sub_1"}
                )

    return run


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """Run the beat sweeper at a business time, with whatever it enqueues."""

    def run(at):
        with clock.freeze(at), django_capture_on_commit_callbacks(execute=True):
            return tasks.webhooks_sweep()

    return run
