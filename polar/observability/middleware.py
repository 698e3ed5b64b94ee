import time
import uuid

import structlog

from . import context
from .metrics import (
    HTTP_LATENCY,
    HTTP_REQUESTS,
    method_label,
    route_label,
    status_label,
)

logger = structlog.get_logger("polar.request")

# Probes and scrapes are answered but not logged line by line.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _clean_request_id(value: str | None) -> str:
    if value and len(value) <= 128 and value.isprintable():
        return value
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Request id (from ``X-Request-Id`` or generated, echoed back), trace id (W3C ``traceparent``),
    one structured access line per request, and the request metrics."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request_id = _clean_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        trace_id = None
        traceparent = request.META.get("HTTP_TRACEPARENT", "")
        parts = traceparent.split("-")
        if len(parts) == 4 and len(parts[1]) == 32:
            trace_id = parts[1]
        context.clear()
        token = context.request_id_var.set(request_id)
        context.bind(request_id=request_id, trace_id=trace_id or request_id)
        try:
            response = self.get_response(request)
        finally:
            context.request_id_var.reset(token)
        duration = time.perf_counter() - started
        route = route_label(getattr(request, "resolver_match", None))
        # Every label comes from a closed set: a client choosing the method or the path must not be able to
        # create new time series (each one costs memory in every worker and in every scrape).
        method, status = method_label(request.method), status_label(response.status_code)
        HTTP_REQUESTS.labels(method, route, status).inc()
        HTTP_LATENCY.labels(method, route, status).observe(duration)
        response["X-Request-Id"] = request_id
        if request.path not in QUIET_PATHS:
            logger.info(
                "request",
                method=request.method,
                path=request.path,
                route=route,
                status=response.status_code,
                duration_ms=round(duration * 1000, 2),
            )
        context.clear()
        return response
