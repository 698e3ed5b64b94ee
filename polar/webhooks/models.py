"""Outgoing webhooks: the outbox (WebhookEvent), the merchant's endpoints, and delivery state.

Three levels, each with its own job:

- ``WebhookEvent``: one row per thing that happened, written in the business transaction (the outbox).
- ``WebhookDelivery``: one row per (event, endpoint) — the unit that is ordered, retried and eventually
  ``succeeded`` / ``failed`` / ``skipped``. The unique constraint on (event, endpoint) makes the fan-out
  idempotent and is why an event is delivered successfully at most once per endpoint (only an explicit
  redeliver sends a succeeded delivery again).
- ``WebhookDeliveryAttempt``: one row per HTTP attempt (status code, duration, response excerpt). This is
  what Polar's API calls a "delivery" (``GET /v1/webhooks/deliveries``).

Event type columns are plain strings without ``choices``: adding a type in events.py needs no migration.
"""

import base64
import secrets as secrets_module

from django.contrib.postgres.fields import ArrayField
from django.db import models

from polar.models import OrganizationOwnedModel

WEBHOOK_SECRET_PREFIX = "whsec_"


def generate_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes (the signing key)."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets_module.token_bytes(32)).decode("ascii")


class WebhookEvent(OrganizationOwnedModel):
    """The outbox: one row per event, written in the same transaction as the change it reports.

    ``payload`` is the whole Standard Webhooks body ``{"type", "timestamp", "data"}`` where ``data`` is the
    API resource as the API renders it at the time of the change.
    """

    type = models.CharField(max_length=64)
    payload = models.JSONField()
    # Set once delivery rows exist for every endpoint subscribed at the time of the event. The sweeper
    # fans out rows left NULL by a crash between the commit and the Celery enqueue.
    fanned_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "created_at"]),
            models.Index(
                fields=["organization", "created_at", "id"],
                name="webhook_event_not_fanned_out",
                condition=models.Q(fanned_out_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.type} {self.id}"


class WebhookFormat(models.TextChoices):
    RAW = "raw"
    # Polar's enum has these; this platform delivers raw payloads only and refuses the others at creation.
    DISCORD = "discord"
    SLACK = "slack"


class WebhookEndpoint(OrganizationOwnedModel):
    """A merchant's receiver URL, the event types it wants, and its signing secret.

    Delivery to one endpoint is serialised by a lease (``lease_token`` / ``lease_expires_at``) taken under a
    short row lock: see services/delivery.py for why it is a lease and not a lock held during the HTTP call.
    """

    class DisabledReason(models.TextChoices):
        USER = "user", "Disabled by the merchant"
        GONE = "gone", "Receiver answered 410 Gone"
        FAILING = "failing", "Every delivery failed for too long"
        DELETED = "deleted", "Endpoint deleted"

    url = models.CharField(max_length=2083)
    name = models.CharField(max_length=255, null=True, blank=True)
    format = models.CharField(max_length=16, choices=WebhookFormat.choices, default=WebhookFormat.RAW)
    # Stored in clear because signing needs it; shown to the merchant like Polar does; kept out of audit diffs.
    secret = models.CharField(max_length=128, default=generate_webhook_secret)
    events = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    enabled = models.BooleanField(default=True)
    api_version = models.CharField(max_length=16, default="2026-04")
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=16, choices=DisabledReason.choices, blank=True, default="")
    # Soft delete: the delivery history stays readable; selectors hide deleted endpoints.
    deleted_at = models.DateTimeField(null=True, blank=True)

    # Health: the first failed attempt since the last success, and how many failed since. Any success resets.
    failing_since = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)

    # One delivery in flight per endpoint (ordering). Not business data: excluded from the audit trail.
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [models.Index(fields=["organization", "enabled"])]

    def __str__(self):
        return self.url

    def is_active(self) -> bool:
        return self.enabled and self.deleted_at is None

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in self.events


class WebhookDelivery(OrganizationOwnedModel):
    """The delivery of one event to one endpoint, across all its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        # Gave up after the last scheduled retry.
        FAILED = "failed", "Failed"
        # The endpoint was disabled or deleted before this could be delivered.
        SKIPPED = "skipped", "Skipped"

    event = models.ForeignKey(WebhookEvent, on_delete=models.PROTECT, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries")
    # Copies of the event's, so the per-endpoint queue is read from one index without a join.
    event_created_at = models.DateTimeField()
    event_type = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # attempt_count counts every HTTP attempt ever; retry_count the failures since the last (re)delivery
    # request, which is the position in the retry schedule.
    attempt_count = models.PositiveIntegerField(default=0)
    retry_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_http_code = models.PositiveSmallIntegerField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_event_endpoint_unique"),
        ]
        indexes = [
            # The per-endpoint FIFO: the head is the first pending row in (event_created_at, event_id) order.
            models.Index(
                fields=["endpoint", "event_created_at", "event"],
                name="webhook_delivery_queue",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due", condition=models.Q(status="pending")),
        ]

    def __str__(self):
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class WebhookDeliveryAttempt(OrganizationOwnedModel):
    """One HTTP attempt. Immutable once written."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.PROTECT, related_name="attempts")
    # Copies for filtering the attempts list without joins.
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="+")
    event = models.ForeignKey(WebhookEvent, on_delete=models.PROTECT, related_name="+")
    event_type = models.CharField(max_length=64)
    number = models.PositiveIntegerField()
    # Business time (polar.clock) of the attempt; filters and sorting use it.
    attempted_at = models.DateTimeField()
    succeeded = models.BooleanField()
    # NULL when no HTTP answer came back (refused destination, DNS, connect or timeout error).
    http_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    # First 2 KB of the answer, or the error when there was none.
    response = models.TextField(null=True, blank=True)
    # When the next attempt was scheduled by this one's failure (NULL on success or when giving up).
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_delivery_number_unique"),
        ]
        indexes = [models.Index(fields=["organization", "attempted_at"])]

    def __str__(self):
        return f"attempt {self.number} of {self.delivery_id}: {self.http_code}"
