"""Delivery to a real receiver that verifies signatures: signing, retries on the schedule, ordering,
disabling on 410 and on persistent failure, redelivery."""

import datetime as dt
import json

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from polar.organizations.models import OrganizationMember
from polar.webhooks import policy, services
from polar.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint

from .conftest import T0

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status


def test_event_is_delivered_with_a_signature_the_receiver_verifies(organization, receiver, make_endpoint, emit):
    endpoint = make_endpoint()
    event = emit(organization, "subscription.created", {"id": "sub_1", "amount": 1000})

    [request] = receiver.requests
    assert request["error"] is None
    assert request["payload"] == {
        "type": "subscription.created",
        "timestamp": "2026-11-02T09:00:00Z",
        "api_version": endpoint.api_version,
        "data": {"id": "sub_1", "amount": 1000},
    }
    assert request["headers"]["webhook-id"] == str(event.id)
    assert request["headers"]["content-type"] == "application/json"
    assert request["headers"]["host"] == f"127.0.0.1:{receiver.port}"
    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
    assert (delivery.status, delivery.attempt_count, delivery.last_http_code) == (Status.SUCCEEDED, 1, 200)
    attempt = WebhookDeliveryAttempt.objects.get(delivery=delivery)
    assert (attempt.number, attempt.succeeded, attempt.http_code, attempt.response) == (1, True, 200, '{"received": 200}')
    assert attempt.attempted_at == T0 and attempt.next_attempt_at is None


def test_a_wrong_secret_fails_verification_at_the_receiver(organization, receiver, make_endpoint, emit):
    make_endpoint()
    receiver.secrets["/hook"] = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    emit(organization)
    assert receiver.requests[0]["error"] == "No matching signature found"


def test_only_subscribed_endpoints_of_the_organization_receive_the_event(
    organization, other_organization, receiver, make_endpoint, emit
):
    make_endpoint("/subscribed", events=["subscription.created"])
    make_endpoint("/other-type", events=["order.paid"])
    make_endpoint("/other-org", events=["subscription.created"], org=other_organization)
    emit(organization, "subscription.created")
    assert [request["path"] for request in receiver.requests] == ["/subscribed"]


def test_retries_follow_the_schedule_then_give_up(organization, receiver, make_endpoint, emit, sweep, monkeypatch):
    # Keep the endpoint-health rule out of the way to watch one delivery's whole schedule.
    monkeypatch.setattr(policy, "DISABLE_AFTER_FAILING_FOR", dt.timedelta(days=30))
    endpoint = make_endpoint()
    receiver.statuses["/hook"].extend([500] * 10)
    event = emit(organization)
    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)

    now = T0
    for expected in policy.RETRY_DELAYS:
        delivery.refresh_from_db()
        delay = delivery.next_attempt_at - now
        assert expected * 0.9 <= delay <= expected * 1.1
        # Just before the retry is due, the sweeper sends nothing.
        sweep(delivery.next_attempt_at - dt.timedelta(seconds=1))
        assert len(receiver.requests) == delivery.attempt_count
        now = delivery.next_attempt_at
        sweep(now)
        assert len(receiver.requests) == delivery.attempt_count + 1

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count, delivery.next_attempt_at) == (Status.FAILED, 10, None)
    assert list(delivery.attempts.order_by("number").values_list("number", "http_code", "succeeded"))[-1] == (10, 500, False)
    # All attempts carried the same webhook-id.
    assert {request["headers"]["webhook-id"] for request in receiver.requests} == {str(event.id)}
    sweep(now + dt.timedelta(days=5))
    assert len(receiver.requests) == 10


def test_a_retry_that_succeeds_completes_the_delivery(organization, receiver, make_endpoint, emit, sweep):
    endpoint = make_endpoint()
    receiver.statuses["/hook"].extend([503])
    event = emit(organization)
    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
    retry_at = delivery.next_attempt_at
    sweep(retry_at)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count, delivery.next_attempt_at) == (Status.SUCCEEDED, 2, None)
    assert [request["payload"]["type"] for request in receiver.requests] == ["subscription.created"] * 2
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.failing_since, endpoint.last_success_at) == (0, None, retry_at)


def test_a_later_event_waits_while_an_earlier_one_is_pending_retry(organization, receiver, make_endpoint, emit, sweep):
    endpoint = make_endpoint()
    receiver.statuses["/hook"].extend([500])
    first = emit(organization, "subscription.created", {"id": "sub_1", "n": 1})
    second = emit(organization, "subscription.updated", {"id": "sub_1", "n": 2}, at=T0 + dt.timedelta(seconds=1))
    third = emit(organization, "subscription.updated", {"id": "sub_1", "n": 3}, at=T0 + dt.timedelta(seconds=2))

    # Only the failed first attempt went out; the later events queue behind it.
    assert [request["payload"]["data"]["n"] for request in receiver.requests] == [1]
    assert WebhookDelivery.objects.get(event=second).status == Status.PENDING

    retry_at = WebhookDelivery.objects.get(event=first, endpoint=endpoint).next_attempt_at
    sweep(retry_at)
    assert [json.loads(request["body"])["data"]["n"] for request in receiver.requests] == [1, 1, 2, 3]
    assert [request["headers"]["webhook-id"] for request in receiver.requests[1:]] == [
        str(first.id),
        str(second.id),
        str(third.id),
    ]


def test_ordering_is_per_endpoint(organization, receiver, make_endpoint, emit):
    make_endpoint("/broken")
    make_endpoint("/healthy")
    receiver.statuses["/broken"].extend([500, 500])
    emit(organization, data={"n": 1})
    emit(organization, data={"n": 2}, at=T0 + dt.timedelta(seconds=1))
    assert [json.loads(r["body"])["data"]["n"] for r in receiver.at("/healthy")] == [1, 2]
    assert [json.loads(r["body"])["data"]["n"] for r in receiver.at("/broken")] == [1]


def test_410_disables_the_endpoint_at_once_and_tells_the_members(organization, receiver, make_endpoint, emit, sweep):
    user = get_user_model().objects.create(username="owner", email="owner@acme.test")
    OrganizationMember.objects.create(organization=organization, user=user)
    endpoint = make_endpoint()
    receiver.statuses["/hook"].extend([410])
    first = emit(organization)
    second = emit(organization, at=T0 + dt.timedelta(seconds=1))

    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, WebhookEndpoint.DisabledReason.GONE)
    assert WebhookDelivery.objects.get(event=first).status == Status.SKIPPED
    # Emitted after the endpoint was disabled: no delivery row at all.
    assert not WebhookDelivery.objects.filter(event=second).exists()
    assert len(receiver.requests) == 1
    [message] = mail.outbox
    assert message.to == ["owner@acme.test"]
    assert "410 Gone" in message.body
    sweep(T0 + dt.timedelta(days=1))
    assert len(receiver.requests) == 1


def test_persistent_failure_for_24_hours_disables_the_endpoint_and_emails_members(
    organization, receiver, make_endpoint, emit, sweep
):
    for name in ("alice", "bob"):
        user = get_user_model().objects.create(username=name, email=f"{name}@acme.test")
        OrganizationMember.objects.create(organization=organization, user=user)
    endpoint = make_endpoint()
    receiver.statuses["/hook"].extend([500] * 20)
    event = emit(organization)
    delivery = WebhookDelivery.objects.get(event=event)

    # Follow the retries until 24 hours of failure have passed.
    while True:
        delivery.refresh_from_db()
        endpoint.refresh_from_db()
        if not endpoint.enabled:
            break
        at = min(delivery.next_attempt_at, T0 + policy.DISABLE_AFTER_FAILING_FOR)
        assert at - T0 <= policy.DISABLE_AFTER_FAILING_FOR
        sweep(at)

    assert endpoint.disabled_reason == WebhookEndpoint.DisabledReason.FAILING
    assert endpoint.disabled_at == T0 + policy.DISABLE_AFTER_FAILING_FOR
    assert endpoint.consecutive_failures == 7
    assert delivery.status == Status.SKIPPED
    [message] = mail.outbox
    assert sorted(message.to) == ["alice@acme.test", "bob@acme.test"]
    assert "failed for more than 24 hours" in message.body


def test_failures_for_less_than_the_span_do_not_disable(organization, receiver, make_endpoint, emit, sweep):
    endpoint = make_endpoint()
    receiver.statuses["/hook"].extend([500] * 20)
    event = emit(organization)
    delivery = WebhookDelivery.objects.get(event=event)
    while delivery.next_attempt_at < T0 + policy.DISABLE_AFTER_FAILING_FOR:
        sweep(delivery.next_attempt_at)
        delivery.refresh_from_db()
    sweep(T0 + policy.DISABLE_AFTER_FAILING_FOR - dt.timedelta(minutes=1))
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.consecutive_failures == 7
    assert mail.outbox == []


def test_redeliver_sends_a_succeeded_event_again_with_the_same_webhook_id(
    organization, receiver, make_endpoint, emit, django_capture_on_commit_callbacks
):
    make_endpoint()
    event = emit(organization)
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_event_redeliver(organization=organization, event_id=event.id)
    assert [request["headers"]["webhook-id"] for request in receiver.requests] == [str(event.id)] * 2
    assert all(request["error"] is None for request in receiver.requests)
    delivery = WebhookDelivery.objects.get(event=event)
    assert (delivery.status, delivery.attempt_count) == (Status.SUCCEEDED, 2)


def test_sending_again_does_not_resend_a_succeeded_delivery(organization, receiver, make_endpoint, emit, sweep):
    endpoint = make_endpoint()
    emit(organization)
    services.webhook_endpoint_deliver(endpoint_id=endpoint.id)
    sweep(T0 + dt.timedelta(days=3))
    assert len(receiver.requests) == 1


def test_a_live_lease_keeps_a_second_worker_from_sending(organization, receiver, make_endpoint, emit):
    endpoint = make_endpoint()
    receiver.statuses["/hook"].extend([500])
    emit(organization)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    # Another worker holds the endpoint (its attempt is in flight). Leases are real time on the database's
    # clock: moving the business clock does not expire them.
    now = dt.datetime.now(dt.UTC)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        lease_token="00000000-0000-0000-0000-000000000001", lease_expires_at=now + dt.timedelta(minutes=1)
    )
    from polar import clock

    with clock.freeze(delivery.next_attempt_at + dt.timedelta(days=1)):
        assert services.webhook_endpoint_deliver(endpoint_id=endpoint.id) is False
        assert services.webhook_endpoints_due() == []
    assert len(receiver.requests) == 1
    # Once the lease expired (that worker died), the delivery goes out.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(lease_expires_at=now - dt.timedelta(seconds=1))
    with clock.freeze(delivery.next_attempt_at):
        assert services.webhook_endpoints_due() == [endpoint.id]
        services.webhook_endpoint_deliver(endpoint_id=endpoint.id)
    assert len(receiver.requests) == 2


def test_response_excerpt_is_cut_at_2_kb():
    from polar.webhooks import network

    assert network._excerpt(b"x" * 5000 + b"\x00") == "x" * 2048
    assert network._excerpt(b"ok\x00") == "ok"


def test_a_subscription_lifecycle_arrives_signed_and_in_order_despite_an_outage(
    organization, receiver, make_endpoint, emit, sweep
):
    """The issue's "done when", with a synthetic emitter: created → active → updated (renewal) → canceled →
    revoked, while the receiver is down for the first two attempts."""
    make_endpoint(
        events=[
            "subscription.created",
            "subscription.active",
            "subscription.updated",
            "subscription.canceled",
            "subscription.revoked",
        ]
    )
    receiver.statuses["/hook"].extend([502, 502])
    story = [
        "subscription.created",
        "subscription.active",
        "subscription.updated",
        "subscription.canceled",
        "subscription.revoked",
    ]
    for minute, event_type in enumerate(story):
        emit(organization, event_type, {"id": "sub_1", "step": minute}, at=T0 + dt.timedelta(minutes=minute))
    for _ in range(5):
        sweep(T0 + dt.timedelta(hours=1))

    delivered = [request for request in receiver.requests if request["headers"]["webhook-id"]]
    assert all(request["error"] is None for request in delivered)
    assert [request["payload"]["type"] for request in delivered] == [story[0], story[0], story[0], *story[1:]]
    assert [request["payload"]["data"]["step"] for request in delivered[2:]] == [0, 1, 2, 3, 4]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {Status.SUCCEEDED}
