"""Celery tasks: thin, take ids, call one service, idempotent (acks_late: a task may run twice)."""

from celery import shared_task
from django.core.cache import cache

from . import services

# A sweep enqueues an endpoint only if no delivery task for it is queued or running (best effort: the key
# expires if a worker dies, and a duplicate task is harmless since the endpoint lease lets one through).
_QUEUED_KEY = "webhooks:deliver-queued:{}"
_QUEUED_TTL_SECONDS = 300


@shared_task(name="polar.webhooks.tasks.webhook_event_fan_out", acks_late=True, reject_on_worker_lost=True)
def webhook_event_fan_out(event_id: str) -> int:
    return len(services.webhook_event_fan_out(event_id=event_id))


@shared_task(name="polar.webhooks.tasks.webhook_events_fan_out", acks_late=True, reject_on_worker_lost=True)
def webhook_events_fan_out(event_ids: list[str]) -> int:
    """The fan-out of events emitted together (``webhook_events_emit``): one transaction for all."""
    return len(services.webhook_events_fan_out_many(event_ids=event_ids))


@shared_task(name="polar.webhooks.tasks.webhook_endpoint_deliver", acks_late=True, reject_on_worker_lost=True)
def webhook_endpoint_deliver(endpoint_id: str) -> bool:
    try:
        more = services.webhook_endpoint_deliver(endpoint_id=endpoint_id)
    finally:
        cache.delete(_QUEUED_KEY.format(endpoint_id))
    if more:
        # Stopped at the batch limit with due work left: go to the back of the queue, fair to other endpoints.
        webhook_endpoint_deliver.delay(endpoint_id)
    return more


@shared_task(name="polar.webhooks.tasks.webhooks_sweep", acks_late=True, reject_on_worker_lost=True)
def webhooks_sweep() -> int:
    """Beat: repair lost fan-outs, disable endpoints failing for too long, enqueue due retries."""
    enqueued = 0
    for endpoint_id in services.webhook_sweep():
        if cache.add(_QUEUED_KEY.format(endpoint_id), 1, timeout=_QUEUED_TTL_SECONDS):
            webhook_endpoint_deliver.delay(str(endpoint_id))
            enqueued += 1
    return enqueued
