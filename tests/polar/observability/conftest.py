"""The webhook receiver and helpers, shared with the webhook tests (the metrics flows deliver webhooks too), and
the in-memory span exporter of the tracing tests (tests/ops uses it too)."""

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from polar.observability import tracing
from tests.polar.webhooks.conftest import emit, make_endpoint, receiver, sweep  # noqa: F401 (fixtures)


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.uninstall()
        provider.shutdown()
