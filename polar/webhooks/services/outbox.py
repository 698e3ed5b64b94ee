"""Emitting webhook events through the outbox, and fanning them out to endpoints."""

import json
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from polar import clock

from ..enqueue import endpoint_delivery_on_commit, event_fan_out_on_commit, events_fan_out_on_commit
from ..events import WebhookEventType
from ..models import WebhookDelivery, WebhookEndpoint, WebhookEvent


def payload_as_json(data: dict) -> dict:
    """``data`` as the outbox stores it: serializer output may still hold UUID, Decimal or datetime objects
    (related-field ids, for instance); they are rendered the way the API renders them, so the payload
    equals the API resource."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def webhook_event_emit(*, organization, type: WebhookEventType | str, data: dict) -> WebhookEvent:
    """Write an outbox row for this event, in the caller's transaction.

    Call it inside the ``transaction.atomic()`` that makes the change: a rolled-back change then
    sends nothing, and a committed one is never lost. ``data`` is the API resource (the output
    serializer's ``.data``). Delivery is scheduled on commit (a Celery task fans the event out to the
    organization's endpoints); if that enqueue is lost, the beat sweeper fans the event out later. An event
    no enabled endpoint subscribes to is stored already fanned out, and nothing is enqueued.

    Locks nothing. Not idempotent by itself: each call is one event (the caller's transaction is the unit).
    Raises ValueError for an event type not in ``WebhookEventType``.
    """
    event_type = WebhookEventType(type)
    now = clock.now()
    # As in webhook_events_emit: an event no endpoint subscribes to right now is written already fanned out
    # and no task is sent (its fan-out would find no endpoint). The Celery publish was about a tenth of the
    # cost of creating a customer for a merchant without webhooks; the EXISTS costs far less (issue 20).
    listening = WebhookEndpoint.objects.filter(
        organization=organization, enabled=True, deleted_at__isnull=True, events__contains=[event_type.value]
    ).exists()
    event = WebhookEvent.objects.create(
        organization=organization,
        type=event_type.value,
        payload={
            "type": event_type.value,
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "data": payload_as_json(data),
        },
        fanned_out_at=None if listening else now,
    )
    if listening:
        event_fan_out_on_commit(event.id)
    return event


def webhook_events_emit(events) -> list[WebhookEvent]:
    """``webhook_event_emit`` for several events at once: one INSERT and (at most) one fan-out task.

    ``events`` is a sequence of ``(organization, type, data)`` in the order they happened (their
    ``created_at`` follows it). Same contract as ``webhook_event_emit``: call it inside the transaction
    that makes the changes; nothing is sent if it rolls back. Batch paths (renewals) use it.
    """
    now = clock.now()
    timestamp = now.isoformat().replace("+00:00", "Z")
    rows = []
    rendered: dict[int, dict] = {}  # several events about one state share one data dict: converted once
    for organization, type_, data in events:
        event_type = WebhookEventType(type_)
        if id(data) not in rendered:
            rendered[id(data)] = payload_as_json(data)
        rows.append(
            WebhookEvent(
                organization=organization,
                type=event_type.value,
                payload={"type": event_type.value, "timestamp": timestamp, "data": rendered[id(data)]},
            )
        )
    if not rows:
        return []
    # An event no endpoint of its organization subscribes to right now is written already fanned out
    # (its fan-out would find no endpoint: one created later does not receive earlier events). Saves a
    # task and a row update per event for merchants without webhooks.
    listening = set()
    for organization_id, types in WebhookEndpoint.objects.filter(
        organization_id__in={row.organization_id for row in rows}, enabled=True, deleted_at__isnull=True
    ).values_list("organization_id", "events"):
        listening.update((organization_id, type_) for type_ in types or ())
    for row in rows:
        if (row.organization_id, row.type) not in listening:
            row.fanned_out_at = now
    from polar.db import values_insert

    with values_insert():  # JSON payloads: see polar.db
        WebhookEvent.objects.bulk_create(rows)
    event_ids = [str(row.id) for row in rows if row.fanned_out_at is None]
    if not event_ids:
        return rows
    events_fan_out_on_commit(event_ids)
    return rows


def webhook_event_fan_out(*, event_id: uuid.UUID | str) -> list[uuid.UUID]:
    """Create the delivery rows of one event: one per active endpoint of its organization that subscribes
    to its type and existed when the event was emitted. Returns the endpoint ids to deliver to.

    Locks the event row (so two fan-outs of the same event serialise; a second one finds it done).
    Idempotent: the (event, endpoint) unique constraint plus ``fanned_out_at``. Enqueues delivery on commit.
    """
    return webhook_events_fan_out_many(event_ids=[event_id])


def webhook_events_fan_out_many(*, event_ids) -> list[uuid.UUID]:
    """Fan out several events in one transaction (``webhook_event_fan_out`` for each, with one query
    for the endpoints and one INSERT for the deliveries). Returns the endpoint ids to deliver to.

    Locks the events still to fan out, in event order; events already fanned out are skipped, so a
    second run (a redelivered task) writes nothing.
    """
    now = clock.now()
    with transaction.atomic():
        events = list(
            WebhookEvent.objects.select_for_update()
            .filter(pk__in=list(event_ids), fanned_out_at__isnull=True)
            .order_by("created_at", "id")
        )
        if not events:
            return []
        endpoints_by_organization: dict = {}
        for endpoint_id, organization_id, types, created_at in WebhookEndpoint.objects.filter(
            organization_id__in={event.organization_id for event in events}, enabled=True, deleted_at__isnull=True
        ).values_list("id", "organization_id", "events", "created_at"):
            endpoints_by_organization.setdefault(organization_id, []).append((endpoint_id, set(types or ()), created_at))
        deliveries, targets = [], []
        for event in events:
            for endpoint_id, types, created_at in endpoints_by_organization.get(event.organization_id, ()):
                if event.type not in types or created_at > event.created_at:
                    continue
                targets.append(endpoint_id)
                deliveries.append(
                    WebhookDelivery(
                        organization_id=event.organization_id,
                        event=event,
                        endpoint_id=endpoint_id,
                        event_created_at=event.created_at,
                        event_type=event.type,
                        next_attempt_at=now,
                    )
                )
        WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        WebhookEvent.objects.filter(pk__in=[event.pk for event in events]).update(fanned_out_at=now)
        targets = list(dict.fromkeys(targets))
        if targets:
            endpoint_delivery_on_commit(targets)
    return targets


def webhook_events_fan_out_pending(*, organization_id=None, limit: int = 500) -> int:
    """Fan out events that were committed but never fanned out (a crash between commit and enqueue),
    oldest first. Returns how many were fanned out by this call.

    Waits on an event another worker is fanning out right now instead of skipping it: the delivery path
    calls this before choosing what to send, and must not send a later event before an earlier one exists.
    """
    queryset = WebhookEvent.objects.filter(fanned_out_at__isnull=True)
    if organization_id is not None:
        queryset = queryset.filter(organization_id=organization_id)
    event_ids = list(queryset.order_by("created_at", "id").values_list("id", flat=True)[:limit])
    done = 0
    for event_id in event_ids:
        webhook_event_fan_out(event_id=event_id)
        done += 1
    return done
