"""Tracing (polar/observability/tracing.py): one trace from an API request through the Celery tasks it causes
(eager here, as in the whole suite) to the webhook delivery's HTTP call, spans kept by an in-memory exporter;
log lines carry the active span's ids; with tracing off nothing is instrumented."""

import pytest
from django.conf import settings
from django.db import connections
from opentelemetry.trace import SpanKind

from polar.observability import tracing

OTEL_MIDDLEWARE = "opentelemetry.instrumentation.django.middleware.otel_middleware._DjangoMiddleware"


@pytest.mark.django_db(transaction=True)
def test_one_trace_from_request_through_tasks_to_webhook_delivery(spans, api_client, make_endpoint, receiver):
    # Transactional: the view's commit runs its on_commit hooks (the fan-out task, eager) inside the request.
    make_endpoint(events=["customer.created"])
    connections.close_all()  # in production tracing starts before the first connection: new ones are traced
    spans.clear()

    response = api_client.post("/v1/customers/", {"email": "traced@example.com"}, format="json")

    assert response.status_code == 201
    assert [request["payload"]["type"] for request in receiver.at("/hook")] == ["customer.created"]
    finished = spans.get_finished_spans()
    server = [span for span in finished if span.kind == SpanKind.SERVER]
    assert len(server) == 1 and server[0].attributes.get("http.route") == "v1/customers/"
    request_span = server[0]
    by_name = {span.name: span for span in finished}
    fan_out = by_name["run/polar.webhooks.tasks.webhook_event_fan_out"]
    deliver = by_name["run/polar.webhooks.tasks.webhook_endpoint_deliver"]
    webhook = by_name["POST webhook"]
    trace_id = request_span.context.trace_id
    assert {span.context.trace_id for span in finished} == {trace_id}
    # The chain of parents: request -> fan-out task -> delivery task -> HTTP call.
    assert fan_out.parent.span_id == request_span.context.span_id
    assert deliver.parent.span_id == fan_out.context.span_id
    assert webhook.parent.span_id == deliver.context.span_id
    assert webhook.kind == SpanKind.CLIENT
    # The database and Redis calls inside are spans of the same trace (psycopg and Redis instrumentations).
    scopes = {span.instrumentation_scope.name for span in finished}
    assert {"opentelemetry.instrumentation.psycopg", "opentelemetry.instrumentation.redis"} <= scopes
    assert webhook.attributes["http.response.status_code"] == 200
    assert webhook.attributes["server.address"] == "127.0.0.1"
    # No trace header leaves for the merchant's receiver.
    assert "traceparent" not in receiver.at("/hook")[0]["headers"]


@pytest.mark.django_db
def test_a_failed_delivery_is_an_error_span(spans, organization, make_endpoint, receiver, emit):
    make_endpoint(path="/down", events=["subscription.created"])
    receiver.statuses["/down"].extend([500])
    spans.clear()
    emit(organization)
    webhook = [span for span in spans.get_finished_spans() if span.name == "POST webhook"]
    assert len(webhook) == 1
    assert webhook[0].attributes["http.response.status_code"] == 500
    assert webhook[0].attributes["error.type"] == "500"
    assert not webhook[0].status.is_ok


def test_log_lines_carry_the_active_span_ids(spans):
    with tracing.span("work") as span:
        event = tracing.add_trace_ids(None, "info", {"event": "x", "trace_id": "request-id"})
        context = span.get_span_context()
    assert event["trace_id"] == format(context.trace_id, "032x")
    assert event["span_id"] == format(context.span_id, "016x")
    # Outside any span the line keeps what the middleware bound (the request id stand-in).
    assert tracing.add_trace_ids(None, "info", {"trace_id": "request-id"}) == {"trace_id": "request-id"}


def test_off_by_default_nothing_instrumented(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert tracing.setup("polar-test") is False
    assert not tracing.enabled()
    assert OTEL_MIDDLEWARE not in settings.MIDDLEWARE
    assert tracing.current_ids() is None
    assert tracing.add_trace_ids(None, "info", {"trace_id": "r"}) == {"trace_id": "r"}
    with tracing.span("nothing") as span:
        assert span is None


def test_configured_by_the_otlp_endpoint(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert tracing.configured()
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not tracing.configured()


def test_install_adds_and_uninstall_removes_the_django_middleware(spans):
    assert OTEL_MIDDLEWARE in settings.MIDDLEWARE
    tracing.uninstall()
    assert OTEL_MIDDLEWARE not in settings.MIDDLEWARE


@pytest.mark.filterwarnings("ignore:task_always_eager has no effect")
def test_a_published_task_carries_the_trace_in_its_headers(spans):
    """Outside eager mode the trace crosses the broker in the message: the Celery instrumentation writes the
    W3C traceparent into the headers, and the worker's instrumentation continues the trace from it."""
    from celery import signals

    from polar.celery import app

    seen = {}

    def capture(headers=None, **kwargs):
        seen.update(headers or {})

    signals.before_task_publish.connect(capture, weak=False)
    try:
        with tracing.span("request") as span, app.connection_for_write("memory://") as connection:
            app.send_task("polar.tests.not_a_task", connection=connection)
            trace_id = format(span.get_span_context().trace_id, "032x")
    finally:
        signals.before_task_publish.disconnect(capture)
    assert seen["traceparent"].split("-")[1] == trace_id
