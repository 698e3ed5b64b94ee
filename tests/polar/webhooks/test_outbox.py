"""The outbox: a rolled-back change sends nothing, a committed one is never lost, fan-out is idempotent."""

import datetime as dt
import decimal
import uuid

import pytest
from django.db import transaction

from polar import clock
from polar.webhooks import services, tasks
from polar.webhooks.models import WebhookDelivery, WebhookEvent

from .conftest import T0


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_sends_nothing_and_a_committed_one_is_delivered(organization, receiver, make_endpoint):
    make_endpoint()

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with transaction.atomic():
            services.webhook_event_emit(organization=organization, type="subscription.created", data={"id": "rolled"})
            raise Boom()
    assert WebhookEvent.objects.count() == 0
    assert receiver.requests == []

    # A real commit: on_commit enqueues the fan-out (eager Celery), which enqueues the delivery.
    with transaction.atomic():
        event = services.webhook_event_emit(organization=organization, type="subscription.created", data={"id": "kept"})
    assert [request["payload"]["data"] for request in receiver.requests] == [{"id": "kept"}]
    assert receiver.requests[0]["headers"]["webhook-id"] == str(event.id)
    assert WebhookDelivery.objects.get(event=event).status == WebhookDelivery.Status.SUCCEEDED


@pytest.mark.django_db
def test_the_sweeper_fans_out_an_event_whose_enqueue_was_lost(organization, receiver, make_endpoint, sweep):
    make_endpoint()
    # Committed, but the process died before the on_commit enqueue ran (callbacks are not executed here).
    with clock.freeze(T0):
        event = services.webhook_event_emit(organization=organization, type="subscription.created", data={"id": "s"})
    assert event.fanned_out_at is None and receiver.requests == []

    sweep(T0 + dt.timedelta(seconds=5))
    event.refresh_from_db()
    assert event.fanned_out_at == T0 + dt.timedelta(seconds=5)
    assert [request["headers"]["webhook-id"] for request in receiver.requests] == [str(event.id)]


@pytest.mark.django_db
def test_a_lost_fan_out_cannot_be_overtaken_by_a_later_event(
    organization, receiver, make_endpoint, emit, django_capture_on_commit_callbacks
):
    make_endpoint()
    with clock.freeze(T0):
        lost = services.webhook_event_emit(organization=organization, type="subscription.created", data={"n": 1})
    later = emit(organization, "subscription.updated", {"n": 2}, at=T0 + dt.timedelta(seconds=1))
    # Delivering the later event first fans out (and sends) the earlier one.
    assert [request["headers"]["webhook-id"] for request in receiver.requests] == [str(lost.id), str(later.id)]


@pytest.mark.django_db
def test_fan_out_is_idempotent(organization, receiver, make_endpoint, django_capture_on_commit_callbacks):
    endpoint = make_endpoint()
    with clock.freeze(T0):
        event = services.webhook_event_emit(organization=organization, type="subscription.created", data={})
        assert services.webhook_event_fan_out(event_id=event.id) == [endpoint.id]
        assert services.webhook_event_fan_out(event_id=event.id) == []
        tasks.webhook_event_fan_out(str(event.id))
    assert WebhookDelivery.objects.filter(event=event).count() == 1


@pytest.mark.django_db
def test_an_endpoint_created_after_the_event_does_not_receive_it(organization, receiver, make_endpoint):
    with clock.freeze(T0):
        event = services.webhook_event_emit(organization=organization, type="subscription.created", data={})
    make_endpoint()
    assert services.webhook_event_fan_out(event_id=event.id) == []


@pytest.mark.django_db
def test_emit_refuses_an_unknown_type(organization):
    with pytest.raises(ValueError):
        services.webhook_event_emit(organization=organization, type="subscription.exploded", data={})
    assert WebhookEvent.objects.count() == 0


@pytest.mark.django_db
def test_emit_renders_ids_amounts_and_times_as_the_api_does(organization):
    resource_id = uuid.UUID("6f1c1c5e-3f86-4a8c-a8b2-1d6f2b3c4d5e")
    with clock.freeze(T0):
        event = services.webhook_event_emit(
            organization=organization,
            type="product.created",
            data={"id": resource_id, "unit_amount": decimal.Decimal("0.015"), "at": T0},
        )
    event.refresh_from_db()
    assert event.payload == {
        "type": "product.created",
        "timestamp": "2026-11-02T09:00:00Z",
        "data": {"id": str(resource_id), "unit_amount": "0.015", "at": "2026-11-02T09:00:00Z"},
    }


@pytest.mark.django_db(transaction=True)
def test_events_emitted_together_are_fanned_out_by_one_task_in_order(organization, receiver, make_endpoint):
    """``webhook_events_emit`` (the renewal batch): one INSERT, one fan-out task; each endpoint gets the
    types it subscribes to, in emission order; a second fan-out of the same events writes nothing."""
    both = make_endpoint("/both")
    updates = make_endpoint("/updates", events=("subscription.updated",))
    with transaction.atomic():
        events = services.webhook_events_emit(
            [
                (organization, "subscription.created", {"n": 1}),
                (organization, "subscription.updated", {"n": 2}),
                (organization, "subscription.updated", {"n": 3}),
            ]
        )
    assert [e.payload["data"] for e in events] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert all(e.created_at <= f.created_at for e, f in zip(events, events[1:]))
    by_path = {}
    for request in receiver.requests:
        by_path.setdefault(request["path"], []).append(request["payload"]["data"]["n"])
    assert by_path == {"/both": [1, 2, 3], "/updates": [2, 3]}
    assert WebhookDelivery.objects.filter(endpoint=both).count() == 3
    assert WebhookDelivery.objects.filter(endpoint=updates).count() == 2
    assert services.webhook_events_fan_out_many(event_ids=[e.id for e in events]) == []
    assert WebhookDelivery.objects.count() == 5
    assert not WebhookEvent.objects.filter(fanned_out_at__isnull=True).exists()


@pytest.mark.django_db
def test_events_emitted_together_that_nobody_listens_to_are_written_fanned_out(
    organization, receiver, make_endpoint, django_capture_on_commit_callbacks
):
    make_endpoint(events=("subscription.updated",))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        created, updated = services.webhook_events_emit(
            [(organization, "subscription.created", {"n": 1}), (organization, "subscription.updated", {"n": 2})]
        )
    assert created.fanned_out_at is not None and updated.fanned_out_at is None
    assert len(callbacks) == 1  # one fan-out task, for the event someone listens to
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        (alone,) = services.webhook_events_emit([(organization, "order.paid", {"n": 3})])
    assert alone.fanned_out_at is not None and callbacks == []
    assert services.webhook_events_fan_out_many(event_ids=[created.id, updated.id, alone.id]) != []
    assert WebhookDelivery.objects.filter(event=updated).count() == 1
    assert not WebhookDelivery.objects.filter(event__in=[created, alone]).exists()


@pytest.mark.django_db
def test_an_event_nobody_subscribes_to_is_stored_fanned_out_and_enqueues_nothing(
    organization, other_organization, receiver, make_endpoint, django_capture_on_commit_callbacks
):
    make_endpoint(events=("order.created",))  # subscribes to another type
    make_endpoint(path="/other", org=other_organization)  # another organization's endpoint
    disabled = make_endpoint(path="/disabled")
    services.webhook_endpoint_update(endpoint=disabled, enabled=False)
    with clock.freeze(T0), django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            event = services.webhook_event_emit(organization=organization, type="subscription.created", data={"id": "s"})
    assert callbacks == []
    event.refresh_from_db()
    assert event.fanned_out_at == T0
    assert WebhookDelivery.objects.filter(event=event).count() == 0 and receiver.requests == []


@pytest.mark.django_db
def test_an_event_a_live_endpoint_subscribes_to_is_left_for_its_fan_out(
    organization, make_endpoint, django_capture_on_commit_callbacks
):
    make_endpoint(events=("subscription.created",))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with transaction.atomic():
            event = services.webhook_event_emit(organization=organization, type="subscription.created", data={"id": "s"})
    assert len(callbacks) == 1
    event.refresh_from_db()
    assert event.fanned_out_at is None
