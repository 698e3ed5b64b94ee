"""One trace across processes: an API request in this process publishes the webhook fan-out task to Redis; a
real Celery worker (another process, tracing on through ``OTEL_EXPORTER_OTLP_ENDPOINT``) runs it and the
delivery task it enqueues, and exports its spans over OTLP/HTTP to a collector on 127.0.0.1 that this test runs.
The worker's spans carry the request's trace id and hang under the request's span: the W3C ``traceparent``
crossed the broker in the message headers and the worker continued the trace from it."""

import http.server
import threading
import time

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connections
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import SpanKind

from tests.ops.processes import start_worker, stop

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:task_always_eager has no effect"),
]


class Collector:
    """An OTLP/HTTP trace receiver: keeps (trace id, span id, parent span id, name) of every span posted."""

    def __init__(self):
        self.spans: list[dict] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                with collector.lock:
                    for resource_spans in request.resource_spans:
                        service = next(
                            (a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"),
                            None,
                        )
                        for scope_spans in resource_spans.scope_spans:
                            for span in scope_spans.spans:
                                collector.spans.append(
                                    {
                                        "trace_id": span.trace_id.hex(),
                                        "span_id": span.span_id.hex(),
                                        "parent_span_id": span.parent_span_id.hex(),
                                        "name": span.name,
                                        "service": service,
                                    }
                                )
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def names(self) -> set[str]:
        with self.lock:
            return {span["name"] for span in self.spans}


@pytest.fixture
def collector():
    server = Collector()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _flush_queue():
    redis.Redis.from_url(django_settings.CELERY_BROKER_URL).delete("celery", "unacked", "unacked_index", "unacked_mutex")


def test_the_request_trace_continues_in_the_worker_process(
    spans,
    api_client,
    make_endpoint,
    receiver,
    collector,
    tmp_path,  # noqa: F811
):
    from polar.celery import app

    make_endpoint(events=["customer.created"])
    connections.close_all()
    _flush_queue()
    worker, log_path = start_worker(
        tmp_path,
        "traced",
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.port}",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_SERVICE_NAME": "polar-worker-test",
        },
    )
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False  # this process publishes to Redis, as a web process does
    try:
        spans.clear()
        response = api_client.post("/v1/customers/", {"email": "traced-across@example.com"}, format="json")
        assert response.status_code == 201
        deadline = time.monotonic() + 60
        wanted = {
            "run/polar.webhooks.tasks.webhook_event_fan_out",
            "run/polar.webhooks.tasks.webhook_endpoint_deliver",
            "POST webhook",
        }
        while time.monotonic() < deadline and not wanted <= collector.names():
            time.sleep(0.2)
        assert wanted <= collector.names(), (collector.names(), log_path.read_text()[-3000:])
    finally:
        app.conf.task_always_eager = eager
        stop(worker)
        _flush_queue()

    (request_span,) = [span for span in spans.get_finished_spans() if span.kind == SpanKind.SERVER]
    trace_id = format(request_span.context.trace_id, "032x")
    publish = [span for span in spans.get_finished_spans() if span.name.startswith("apply_async/")]
    assert publish and all(format(span.context.trace_id, "032x") == trace_id for span in publish)
    worker_spans = {span["name"]: span for span in collector.spans if span["trace_id"] == trace_id}
    fan_out = worker_spans["run/polar.webhooks.tasks.webhook_event_fan_out"]
    deliver = worker_spans["run/polar.webhooks.tasks.webhook_endpoint_deliver"]
    webhook = worker_spans["POST webhook"]
    # request (this process) -> publish -> fan-out (worker) -> deliver (worker) -> the HTTP call (worker)
    assert fan_out["parent_span_id"] in {format(span.context.span_id, "016x") for span in publish}
    enqueue = worker_spans["apply_async/polar.webhooks.tasks.webhook_endpoint_deliver"]
    assert enqueue["parent_span_id"] == fan_out["span_id"]
    assert deliver["parent_span_id"] == enqueue["span_id"]
    assert webhook["parent_span_id"] == deliver["span_id"]
    assert {span["service"] for span in worker_spans.values()} == {"polar-worker-test"}
    assert [request["payload"]["type"] for request in receiver.at("/hook")] == ["customer.created"]
