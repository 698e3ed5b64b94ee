from django.db import models

from polar.models import OrganizationOwnedModel

from .events import WebhookEventType


class WebhookEvent(OrganizationOwnedModel):
    """The outbox: one row per event, written in the same transaction as the change it reports.

    ``payload`` is the whole Standard Webhooks body ``{"type", "timestamp", "data"}`` where ``data`` is the
    API resource as the API renders it at the time of the change.
    """

    type = models.CharField(max_length=64, choices=WebhookEventType.choices)
    payload = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"])]
