"""Webhook services. ``webhook_event_emit`` is the one other capabilities call (inside their transaction)."""

from .delivery import (
    webhook_endpoint_deliver,
    webhook_endpoint_disable,
    webhook_endpoints_disable_failing,
    webhook_endpoints_due,
    webhook_event_redeliver,
    webhook_sweep,
)
from .endpoints import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)
from .outbox import (
    webhook_event_emit,
    webhook_event_fan_out,
    webhook_events_emit,
    webhook_events_fan_out_many,
    webhook_events_fan_out_pending,
)

__all__ = [
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_deliver",
    "webhook_endpoint_disable",
    "webhook_endpoint_rotate_secret",
    "webhook_endpoint_update",
    "webhook_endpoints_disable_failing",
    "webhook_endpoints_due",
    "webhook_event_emit",
    "webhook_event_fan_out",
    "webhook_event_redeliver",
    "webhook_events_emit",
    "webhook_events_fan_out_many",
    "webhook_events_fan_out_pending",
    "webhook_sweep",
]
