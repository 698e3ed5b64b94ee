"""Structured logs: one JSON object a line, carrying the request id, trace id and organization bound
in ``polar.observability.context``; with tracing on, ``trace_id`` and ``span_id`` are the active span's
(``polar.observability.tracing``). Standard-library loggers (Django, Celery) go through the same renderer."""

import logging
import logging.config

import structlog

from .tracing import add_trace_ids


def configure(level: str = "INFO", fmt: str = "json") -> None:
    shared = [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structured": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "processors": [
                        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.format_exc_info,
                        renderer,
                    ],
                    "foreign_pre_chain": shared,
                }
            },
            "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
            "root": {"handlers": ["console"], "level": level},
            "loggers": {
                # The access line comes from polar.request; Django's own would repeat it.
                "django.server": {"level": "WARNING"},
                "django.request": {"level": "ERROR"},
                "gunicorn.access": {"level": "WARNING"},
            },
        }
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def configure_from_settings(logging_settings: dict) -> None:
    configure(level=logging_settings.get("level", "INFO"), fmt=logging_settings.get("format", "json"))
