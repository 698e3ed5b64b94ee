"""Delivering webhook events: per-endpoint ordering, retries, endpoint health, redelivery.

Ordering. Each endpoint is a FIFO queue of its pending deliveries in event order ``(event.created_at,
event.id)``. Only the head of the queue may be sent; while the head waits for a retry, the later events
for that endpoint wait too. The head leaves the queue when it succeeds, gives up (failed, after the last
retry) or is skipped (endpoint disabled). Events about one resource are emitted under that resource's
row lock, so their created_at order is their commit order.

One attempt at a time per endpoint: a lease, not a lock held across the HTTP call. A worker takes a short
transaction that locks the endpoint row (``FOR NO KEY UPDATE SKIP LOCKED``: busy endpoints are skipped,
and delivery inserts referencing the endpoint are not blocked), picks the head and takes the lease with one
conditional UPDATE (``lease_token`` / ``lease_expires_at``, on the database's clock, only if no live lease),
and commits. The HTTP call runs with no transaction and no lock. A second short transaction records the
attempt and releases the lease. Holding the row lock for the whole call would block the merchant's PATCH of
the endpoint behind a slow receiver and pin a database connection per in-flight webhook.

Why two workers never talk to one receiver about the same endpoint at once: the attempt has a wall-clock
deadline (``WEBHOOK_DELIVERY_DEADLINE_SECONDS``, started before the lease is taken) that network.send
enforces on every socket operation and with a watchdog, and the lease is that deadline plus
``policy.DELIVERY_LEASE_MARGIN``. So the lease outlives the attempt; a worker that stalled before sending
finds its deadline passed and sends nothing. ``lease_token`` is the fencing token: recording an attempt
moves the retry schedule and releases the lease only if the token is still the endpoint's. What is left: a
worker frozen (not merely slow) for longer than the margin in the middle of an exchange; receivers
deduplicate on ``webhook-id``, which Standard Webhooks makes stable for this reason.

Fairness: one task run stops starting attempts after ``policy.DELIVERY_DRAIN_SECONDS`` and re-enqueues
itself, so a slow receiver holds a worker for at most that plus one deadline before other endpoints go.
"""

import copy
import dataclasses
import datetime as dt
import json
import time
import uuid

import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import DateTimeField, Func, Q
from standardwebhooks import Webhook

from polar import clock
from polar.api import versions
from polar.errors import ResourceNotFound
from polar.webhooks import metrics as webhook_metrics

from .. import network, policy
from ..enqueue import endpoint_delivery_on_commit
from ..models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint, WebhookEvent
from .outbox import webhook_event_fan_out, webhook_events_fan_out_pending

logger = structlog.get_logger("polar.webhooks")

Status = WebhookDelivery.Status
DisabledReason = WebhookEndpoint.DisabledReason


def payload_body(event: WebhookEvent, api_version: str) -> str:
    """The request body: the payload JSON in the endpoint's API version (the outbox stores the internal,
    newest shape; polar.api.versions renders it down), with Polar's top-level key order."""
    payload = event.payload
    data = versions.render(copy.deepcopy(payload["data"]), api_version)
    ordered = {"type": payload["type"], "timestamp": payload["timestamp"], "api_version": api_version, "data": data}
    return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False)


def signed_headers(*, secret: str, event_id: str, body: str) -> dict[str, str]:
    """Standard Webhooks headers. The timestamp is the wall clock, not polar.clock: receivers compare it
    with their own clock (5 minutes of tolerance), so a travelled business clock must not leak into it."""
    timestamp = dt.datetime.now(dt.UTC)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id=event_id, timestamp=timestamp, data=body),
    }


class DatabaseClock(Func):
    """The database server's wall clock at this statement (``clock_timestamp()``, not the transaction's
    ``now()``): one clock for every worker, whatever their hosts' clocks or a travelled ``polar.clock``."""

    template = "clock_timestamp()"
    output_field = DateTimeField()


def _lease_is_free(prefix: str = "") -> Q:
    return Q(**{f"{prefix}lease_expires_at__isnull": True}) | Q(**{f"{prefix}lease_expires_at__lte": DatabaseClock()})


@dataclasses.dataclass(frozen=True)
class _Claim:
    endpoint_id: uuid.UUID
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    lease_token: uuid.UUID
    url: str
    secret: str
    body: str
    # time.monotonic() instant by which the attempt is over, taken before the lease: it ends at least
    # policy.DELIVERY_LEASE_MARGIN before the lease does.
    deadline: float


def _claim_head(endpoint_id) -> _Claim | None:
    """Take the endpoint's lease and return its head delivery if one is due, else None.

    The lease is real time on the database's clock (not polar.clock, not the worker's clock), written by
    one conditional UPDATE (``WHERE lease is free``) under the row lock: of two workers racing, one gets
    the lease and the other skips the endpoint (the locked row, or the live lease)."""
    deadline = time.monotonic() + policy.delivery_deadline_seconds()
    now = clock.now()  # business time: is the head's retry due?
    with transaction.atomic():
        endpoint = (
            WebhookEndpoint.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(_lease_is_free(), pk=endpoint_id)
            .first()
        )
        if endpoint is None or not endpoint.is_active():
            return None
        head = (
            WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING)
            .select_related("event")
            .order_by("event_created_at", "event_id")
            .first()
        )
        if head is None or (head.next_attempt_at is not None and head.next_attempt_at > now):
            return None
        lease_token = uuid.uuid4()
        # QuerySet.update on an audited model: the lease fields are excluded from the audit trail (apps.py).
        taken = WebhookEndpoint.objects.filter(_lease_is_free(), pk=endpoint.pk).update(
            lease_token=lease_token, lease_expires_at=DatabaseClock() + policy.delivery_lease()
        )
        if taken != 1:
            return None
        return _Claim(
            endpoint_id=endpoint.id,
            delivery_id=head.id,
            event_id=head.event_id,
            lease_token=lease_token,
            url=endpoint.url,
            secret=endpoint.secret,
            body=payload_body(head.event, endpoint.api_version),
            deadline=deadline,
        )


def _record(claim: _Claim, result: network.SendResult) -> WebhookDeliveryAttempt:
    """Write the attempt and move the delivery and the endpoint's health on. Locks the endpoint row, then
    the delivery row (the same order as every other writer here)."""
    now = clock.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=claim.endpoint_id)
        delivery = WebhookDelivery.objects.select_for_update().get(pk=claim.delivery_id)
        holds_lease = endpoint.lease_token == claim.lease_token
        delivery.attempt_count += 1
        delivery.last_attempt_at = now
        delivery.last_http_code = result.http_code
        next_attempt_at = None
        if result.succeeded:
            # Delivered is delivered, whoever held the lease: never send it again automatically.
            delivery.status = Status.SUCCEEDED
            delivery.succeeded_at = now
            delivery.next_attempt_at = None
            endpoint.failing_since = None
            endpoint.consecutive_failures = 0
            endpoint.last_success_at = now
        else:
            # Only the lease holder moves the schedule: a stale worker's failure must not push it twice.
            if delivery.status == Status.PENDING and holds_lease:
                delivery.retry_count += 1
                delay = policy.retry_delay(delivery.retry_count)
                if delay is None:
                    delivery.status = Status.FAILED
                    delivery.next_attempt_at = None
                else:
                    next_attempt_at = now + delay
                    delivery.next_attempt_at = next_attempt_at
            endpoint.failing_since = endpoint.failing_since or now
            endpoint.consecutive_failures += 1
        delivery.modified_at = now
        delivery.save()
        attempt = WebhookDeliveryAttempt.objects.create(
            organization_id=delivery.organization_id,
            delivery=delivery,
            endpoint_id=delivery.endpoint_id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            number=delivery.attempt_count,
            attempted_at=now,
            succeeded=result.succeeded,
            http_code=result.http_code,
            duration_ms=result.duration_ms,
            response=result.response,
            next_attempt_at=next_attempt_at,
        )
        if holds_lease:
            endpoint.lease_token = None
            endpoint.lease_expires_at = None
        endpoint.save(
            update_fields=["failing_since", "consecutive_failures", "last_success_at", "lease_token", "lease_expires_at"]
        )
        if endpoint.is_active():
            if result.http_code == 410:
                webhook_endpoint_disable(endpoint=endpoint, reason=DisabledReason.GONE)
            elif not result.succeeded and _is_persistently_failing(endpoint, now):
                webhook_endpoint_disable(endpoint=endpoint, reason=DisabledReason.FAILING)
    webhook_metrics.delivery_observed(
        succeeded=result.succeeded,
        status=delivery.status,
        retrying=next_attempt_at is not None,
        latency=now - delivery.event_created_at,
    )
    logger.info(
        "webhook attempt",
        endpoint_id=str(claim.endpoint_id),
        event_id=str(claim.event_id),
        attempt=attempt.number,
        http_code=result.http_code,
        succeeded=result.succeeded,
        duration_ms=result.duration_ms,
        next_attempt_at=next_attempt_at.isoformat() if next_attempt_at else None,
    )
    return attempt


def _is_persistently_failing(endpoint: WebhookEndpoint, now: dt.datetime) -> bool:
    return (
        endpoint.failing_since is not None
        and now - endpoint.failing_since >= policy.DISABLE_AFTER_FAILING_FOR
        and endpoint.consecutive_failures >= policy.DISABLE_MIN_FAILED_ATTEMPTS
    )


def webhook_endpoint_deliver(*, endpoint_id, limit: int = policy.DELIVERY_BATCH) -> bool:
    """Send the endpoint's due deliveries in order, one at a time, until the queue is empty, the head must
    wait for a retry, ``limit`` were sent or ``policy.DELIVERY_DRAIN_SECONDS`` passed. Returns True when it
    stopped with work possibly left (the task then re-enqueues the endpoint).

    Each attempt is bounded by the wall-clock deadline (``WEBHOOK_DELIVERY_DEADLINE_SECONDS``), so a call
    lasts at most the drain budget plus one deadline. Safe to run concurrently for the same endpoint (the
    lease lets one through, the others return) and to run again at any time (it only sends what is due).
    Holds no lock during HTTP calls.
    """
    organization_id = WebhookEndpoint.objects.filter(pk=endpoint_id).values_list("organization_id", flat=True).first()
    if organization_id is None:
        return False
    # An event that was committed but never fanned out may precede the current head: fan it out first.
    webhook_events_fan_out_pending(organization_id=organization_id, limit=100)
    started = time.monotonic()
    for sent in range(limit):
        if sent and time.monotonic() - started >= policy.DELIVERY_DRAIN_SECONDS:
            # Fairness: a slow receiver gets one attempt per task run, then the endpoint goes to the back of
            # the queue (the task re-enqueues it) behind other organizations' deliveries.
            return True
        claim = _claim_head(endpoint_id)
        if claim is None:
            return False
        result = network.send(
            url=claim.url,
            body=claim.body.encode(),
            headers=signed_headers(secret=claim.secret, event_id=str(claim.event_id), body=claim.body),
            deadline=claim.deadline,
        )
        _record(claim, result)
        if not result.succeeded:
            return False
    return True


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> WebhookEndpoint:
    """Disable an endpoint and skip its pending deliveries. Call with the endpoint row locked, inside a
    transaction. Emails the organization's members on commit when the platform (not the merchant)
    disabled it. Idempotent: an already disabled endpoint is left as it is."""
    if not endpoint.enabled:
        return endpoint
    now = clock.now()
    endpoint.enabled = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason
    webhook_metrics.endpoint_disabled(reason)
    endpoint.modified_at = now
    endpoint.save(update_fields=["enabled", "disabled_at", "disabled_reason", "modified_at"])
    WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING).update(
        status=Status.SKIPPED, next_attempt_at=None, modified_at=now
    )
    if reason in (DisabledReason.GONE, DisabledReason.FAILING):
        endpoint_id = endpoint.id
        transaction.on_commit(lambda: _email_members_endpoint_disabled(endpoint_id), robust=True)
    return endpoint


def _email_members_endpoint_disabled(endpoint_id) -> int:
    from polar.organizations.models import OrganizationMember

    endpoint = WebhookEndpoint.objects.select_related("organization").get(pk=endpoint_id)
    recipients = sorted(
        {
            email
            for email in OrganizationMember.objects.filter(organization_id=endpoint.organization_id).values_list(
                "user__email", flat=True
            )
            if email
        }
    )
    if not recipients and endpoint.organization.email:
        recipients = [endpoint.organization.email]
    if not recipients:
        logger.warning("webhook endpoint disabled but nobody to tell", endpoint_id=str(endpoint_id))
        return 0
    if endpoint.disabled_reason == DisabledReason.GONE:
        why = "it answered 410 Gone, which means the receiver no longer exists"
    else:
        hours = int(policy.DISABLE_AFTER_FAILING_FOR.total_seconds() // 3600)
        why = f"every delivery attempt failed for more than {hours} hours ({endpoint.consecutive_failures} attempts in a row)"
    body = (
        f"The webhook endpoint {endpoint.url} of {endpoint.organization.name} was disabled because {why}.\n\n"
        "Events that were waiting for it are marked skipped. Fix the receiver, enable the endpoint again "
        f"(PATCH /v1/webhooks/endpoints/{endpoint.id} with enabled=true) and redeliver the events you need "
        "(POST /v1/webhooks/events/<event id>/redeliver).\n"
    )
    return send_mail(
        subject=f"Webhook endpoint disabled: {endpoint.url}",
        message=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
    )


def webhook_endpoints_disable_failing() -> list[uuid.UUID]:
    """Disable every active endpoint that has been failing for the whole span (the sweeper's health pass:
    an endpoint whose head waits for a long retry would otherwise only be judged at its next attempt).
    Locks each endpoint row in turn, skipping those being delivered right now."""
    now = clock.now()
    disabled = []
    candidates = WebhookEndpoint.objects.filter(
        enabled=True,
        deleted_at__isnull=True,
        failing_since__lte=now - policy.DISABLE_AFTER_FAILING_FOR,
        consecutive_failures__gte=policy.DISABLE_MIN_FAILED_ATTEMPTS,
    ).values_list("id", flat=True)
    for endpoint_id in list(candidates):
        with transaction.atomic():
            endpoint = WebhookEndpoint.objects.select_for_update(skip_locked=True, no_key=True).filter(pk=endpoint_id).first()
            if endpoint is not None and endpoint.is_active() and _is_persistently_failing(endpoint, now):
                webhook_endpoint_disable(endpoint=endpoint, reason=DisabledReason.FAILING)
                disabled.append(endpoint_id)
    return disabled


def webhook_endpoints_due() -> list[uuid.UUID]:
    """Active endpoints whose queue head is due and that nobody is delivering to right now."""
    now = clock.now()
    heads = (
        WebhookDelivery.objects.filter(
            _lease_is_free("endpoint__"),
            status=Status.PENDING,
            endpoint__enabled=True,
            endpoint__deleted_at__isnull=True,
        )
        .order_by("endpoint_id", "event_created_at", "event_id")
        .distinct("endpoint_id")
        .values_list("endpoint_id", "next_attempt_at")
    )
    return [endpoint_id for endpoint_id, next_attempt_at in heads if next_attempt_at is None or next_attempt_at <= now]


def webhook_sweep() -> list[uuid.UUID]:
    """The beat sweeper's pass: fan out events a crash left behind, disable endpoints failing for too long,
    and return the endpoints with a due head for the task to enqueue. Idempotent."""
    webhook_events_fan_out_pending()
    webhook_endpoints_disable_failing()
    return webhook_endpoints_due()


def webhook_event_redeliver(*, organization, event_id) -> WebhookEvent:
    """Send an event again to every active endpoint it was meant for, whatever happened before (the merchant
    asked: this is the one way a succeeded delivery is sent twice). The retry schedule starts over.

    Locks the event's delivery rows (by primary key order). Idempotent while pending: asking twice before
    the attempt queues it once. Raises ResourceNotFound for another organization's or an unknown event.
    """
    event = WebhookEvent.objects.filter(organization=organization, pk=event_id).first()
    if event is None:
        raise ResourceNotFound()
    if event.fanned_out_at is None:
        webhook_event_fan_out(event_id=event.id)
    now = clock.now()
    with transaction.atomic():
        deliveries = list(
            WebhookDelivery.objects.select_for_update()
            .filter(event=event, endpoint__enabled=True, endpoint__deleted_at__isnull=True)
            .order_by("pk")
        )
        for delivery in deliveries:
            delivery.status = Status.PENDING
            delivery.retry_count = 0
            delivery.next_attempt_at = now
            delivery.modified_at = now
            delivery.save(update_fields=["status", "retry_count", "next_attempt_at", "modified_at"])
        endpoint_delivery_on_commit([delivery.endpoint_id for delivery in deliveries])
    return event
