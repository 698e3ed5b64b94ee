"""Emitting webhook events through the outbox."""
from polar import clock

from .events import WebhookEventType
from .models import WebhookEvent


def webhook_event_emit(*, organization, type: WebhookEventType | str, data: dict) -> WebhookEvent:
    """Write an outbox row for this event, in the caller's transaction.

    Call it inside the ``transaction.atomic()`` that makes the change: a rolled-back change then
    sends nothing, and a committed one is never lost. ``data`` is the API resource (the output
    serializer's ``.data``). Delivery is scheduled on commit.
    """
    event_type = WebhookEventType(type)
    now = clock.now()
    return WebhookEvent.objects.create(
        organization=organization,
        type=event_type.value,
        payload={"type": event_type.value, "timestamp": now.isoformat().replace("+00:00", "Z"), "data": data},
    )
