"""OpenTelemetry tracing: one trace follows a request into the Celery tasks it causes and the webhook deliveries
they make (Django, Celery, psycopg, Redis and httpx instrumentations, plus a manual span around the webhook
sender, which speaks httpcore directly).

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set: then nothing is instrumented and no tracer provider is
installed, so the hot path pays nothing (the API's default provider hands out no-op spans and ``span()`` below
returns a null context). On: spans go in batches over OTLP/HTTP to that endpoint; the usual ``OTEL_*``
variables apply (``OTEL_SERVICE_NAME``, ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_TRACES_SAMPLER``...).

Where it starts: ``polar/wsgi.py`` (each gunicorn worker, before Django builds its middleware chain) and
``polar/celery.py`` (each Celery pool process, on ``worker_process_init``; the main process for solo and
thread pools). Tests call ``install(provider)`` with an in-memory exporter and ``uninstall()`` after.
"""

import contextlib
import os
import threading

import structlog

logger = structlog.get_logger(__name__)

_lock = threading.Lock()
_provider = None  # the SDK TracerProvider once installed, else None (tracing off)
_instrumentors: list = []


def enabled() -> bool:
    return _provider is not None


def configured() -> bool:
    """Whether this process is asked to export traces (``OTEL_EXPORTER_OTLP_ENDPOINT`` or the traces-only
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` set, and ``OTEL_SDK_DISABLED`` not true)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def setup(service_name: str) -> bool:
    """Install OTLP export and the instrumentations when configured; a no-op otherwise or when already done.
    Returns whether tracing is on in this process."""
    if enabled() or not configured():
        return enabled()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, when set, win over the process's default name.
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or service_name})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    install(provider, set_global=True)
    logger.info("tracing.enabled", service=service_name)
    return True


def install(provider, *, set_global: bool = False) -> None:
    """Instrument Django, Celery, psycopg, Redis and httpx with ``provider``. ``set_global`` also makes it the
    process's global provider (which OpenTelemetry allows once per process: tests pass their provider to the
    instrumentors instead)."""
    global _provider
    from opentelemetry import trace
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    with _lock:
        if _provider is not None:
            return
        if set_global:
            trace.set_tracer_provider(provider)
        _provider = provider
        for instrumentor, options in (
            # Probes and scrapes would be most of the spans and tell nothing.
            (DjangoInstrumentor(), {"excluded_urls": "healthz,readyz,metrics"}),
            (CeleryInstrumentor(), {}),
            (PsycopgInstrumentor(), {"skip_dep_check": True}),
            (RedisInstrumentor(), {}),
            (HTTPXClientInstrumentor(), {}),
        ):
            instrumentor.instrument(tracer_provider=provider, **options)
            _instrumentors.append(instrumentor)


def uninstall() -> None:
    """Undo ``install`` (tests). The global provider, if one was set, stays: OpenTelemetry cannot unset it."""
    global _provider
    with _lock:
        while _instrumentors:
            _instrumentors.pop().uninstrument()
        _provider = None


def tracer(name: str):
    from opentelemetry import trace

    return trace.get_tracer(name, tracer_provider=_provider)


def span(name: str, *, kind: str = "INTERNAL", attributes: dict | None = None):
    """A manual span under the current one, or a null context when tracing is off (no OpenTelemetry call)."""
    if _provider is None:
        return contextlib.nullcontext()
    from opentelemetry.trace import SpanKind

    return tracer("polar").start_as_current_span(name, kind=getattr(SpanKind, kind), attributes=attributes)


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the active span as hex, or None when there is none (or tracing is off)."""
    if _provider is None:
        return None
    from opentelemetry import trace

    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


def add_trace_ids(logger, method_name, event_dict):
    """structlog processor: the active span's ``trace_id`` and ``span_id`` on the line (they replace the
    request-id stand-in bound by the middleware); nothing changes when tracing is off."""
    ids = current_ids()
    if ids is not None:
        event_dict["trace_id"], event_dict["span_id"] = ids
    return event_dict
