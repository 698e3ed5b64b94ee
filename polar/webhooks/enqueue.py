"""Sending the webhook tasks, by name, after the caller's transaction commits.

The services enqueue work and the tasks call the services: naming the tasks here (rather than importing
``polar.webhooks.tasks``) keeps the imports one way, tasks -> services -> enqueue. Every enqueue runs in
``transaction.on_commit(..., robust=True)``: a broker outage after the commit must not turn the caller's
committed change into an error, and what is lost is repaired by the sweeper (events never fanned out,
deliveries due).
"""

from django.db import transaction

from polar.celery import app as celery_app

EVENT_FAN_OUT_TASK = "polar.webhooks.tasks.webhook_event_fan_out"
EVENTS_FAN_OUT_TASK = "polar.webhooks.tasks.webhook_events_fan_out"
ENDPOINT_DELIVER_TASK = "polar.webhooks.tasks.webhook_endpoint_deliver"


def _send(name: str, *args) -> None:
    celery_app.signature(name, args=args).delay()


def event_fan_out_on_commit(event_id) -> None:
    event_id = str(event_id)
    transaction.on_commit(lambda: _send(EVENT_FAN_OUT_TASK, event_id), robust=True)


def events_fan_out_on_commit(event_ids) -> None:
    ids = [str(event_id) for event_id in event_ids]
    transaction.on_commit(lambda: _send(EVENTS_FAN_OUT_TASK, ids), robust=True)


def endpoint_delivery_on_commit(endpoint_ids) -> None:
    """Ask a worker to drain these endpoints' queues once the current transaction commits."""
    ids = [str(endpoint_id) for endpoint_id in dict.fromkeys(endpoint_ids)]

    def enqueue():
        for endpoint_id in ids:
            _send(ENDPOINT_DELIVER_TASK, endpoint_id)

    transaction.on_commit(enqueue, robust=True)
