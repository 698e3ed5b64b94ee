"""A Celery worker's metrics port serves what its processes counted (off unless POLAR_WORKER_METRICS_PORT is set)."""

import socket
import urllib.request

from billing import metrics as billing_metrics
from polar.observability import worker_metrics


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_off_without_a_port(monkeypatch):
    monkeypatch.delenv("POLAR_WORKER_METRICS_PORT", raising=False)
    assert worker_metrics.serve() is None


def test_the_port_serves_the_counters(monkeypatch):
    port = free_port()
    monkeypatch.setenv("POLAR_WORKER_METRICS_PORT", str(port))
    server, thread = worker_metrics.serve()
    try:
        billing_metrics.order_created("subscription_cycle")
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert 'polar_orders_created_total{billing_reason="subscription_cycle"}' in body
    finally:
        server.shutdown()
        server.server_close()
