"""Per-request (or per-task) context: request id, trace id and organization, for logs and audit entries."""

from contextvars import ContextVar

import structlog

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def get_request_id() -> str | None:
    """Used by django-auditlog as the correlation id of audit entries (AUDITLOG_CID_GETTER)."""
    return request_id_var.get()


def bind(**values) -> None:
    structlog.contextvars.bind_contextvars(**values)


def clear() -> None:
    structlog.contextvars.clear_contextvars()
