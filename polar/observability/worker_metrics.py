"""A Celery worker's own /metrics: renewals, charges and webhook deliveries are counted in the worker processes,
which serve no HTTP. With ``POLAR_WORKER_METRICS_PORT`` set, the worker's main process serves the samples of all
its pool processes (prometheus-client's multiprocess files in ``PROMETHEUS_MULTIPROC_DIR``, a directory of the
worker's own: not the web's) on that port. Unset, nothing is served and nothing costs."""

import os
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server


def registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return REGISTRY


def clear_files() -> None:
    """At worker start: samples of an earlier run of this worker would be counted again."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and Path(directory).is_dir():
        for path in Path(directory).glob("*.db"):
            path.unlink(missing_ok=True)


def serve(port: int | None = None, addr: str | None = None):
    """Start the metrics server (a thread of the worker's main process). Returns (server, thread) or None."""
    port = port if port is not None else int(os.environ.get("POLAR_WORKER_METRICS_PORT") or 0) or None
    if port is None:
        return None
    return start_http_server(port, addr=addr or os.environ.get("POLAR_WORKER_METRICS_ADDR", "127.0.0.1"), registry=registry())


def mark_dead(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)
