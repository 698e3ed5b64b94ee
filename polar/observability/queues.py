"""Celery's backlog, read from the Redis broker when /metrics is scraped: how many task messages wait in each
queue and how long the oldest one has waited. Queue names come from the settings (a closed set).

Kombu's Redis transport LPUSHes messages and BRPOPs them, so the oldest waiting message is the list's last
element. Celery's messages carry no send time, so ``polar.celery`` stamps ``polar_published_at`` (epoch
seconds) into each message's headers when it is published. Messages a worker has taken but not acknowledged
yet (``acks_late``) sit in kombu's ``unacked`` hash and are not counted: they are being worked on.
With another broker (RabbitMQ) nothing is reported here: use the broker's own exporter."""

import json
import time

from django.conf import settings
from prometheus_client.core import GaugeMetricFamily

PUBLISHED_AT_HEADER = "polar_published_at"


def queue_names() -> list[str]:
    names = {getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", None) or "celery"}
    for route in (getattr(settings, "CELERY_TASK_ROUTES", None) or {}).values():
        if isinstance(route, dict) and route.get("queue"):
            names.add(route["queue"])
    return sorted(names)


def _published_at(raw: bytes | None) -> float | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw).get("headers", {}).get(PUBLISHED_AT_HEADER)
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) else None


def celery_queues_state():
    broker = settings.CELERY_BROKER_URL or ""
    if not broker.startswith(("redis://", "rediss://", "unix://")):
        return
    import redis

    length = GaugeMetricFamily("polar_celery_queue_length", "Task messages waiting in a Celery queue", labels=["queue"])
    age = GaugeMetricFamily(
        "polar_celery_queue_oldest_task_age_seconds",
        "How long the oldest waiting task message has waited (0 when the queue is empty)",
        labels=["queue"],
    )
    client = redis.Redis.from_url(broker, socket_connect_timeout=2, socket_timeout=2)
    try:
        now = time.time()
        for name in queue_names():
            with client.pipeline(transaction=False) as pipe:
                pipe.llen(name)
                pipe.lindex(name, -1)
                count, oldest = pipe.execute()
            published = _published_at(oldest)
            length.add_metric([name], count)
            age.add_metric([name], max(now - published, 0.0) if published is not None else 0.0)
    finally:
        client.close()
    yield length
    yield age
