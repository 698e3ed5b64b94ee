"""Reads, always scoped to the caller's organization."""

import datetime as dt

from django.db.models import Q

from .models import WebhookDeliveryAttempt, WebhookEndpoint, WebhookEvent


def webhook_endpoint_list(*, organization, organization_ids=None):
    queryset = WebhookEndpoint.objects.filter(organization=organization, deleted_at__isnull=True)
    if organization_ids:
        queryset = queryset.filter(organization_id__in=organization_ids)
    return queryset


def webhook_endpoint_get(*, organization, id) -> WebhookEndpoint | None:
    return webhook_endpoint_list(organization=organization).filter(pk=id).first()


def webhook_event_get(*, organization, id) -> WebhookEvent | None:
    return WebhookEvent.objects.filter(organization=organization, pk=id).first()


_HTTP_CODE_CLASSES = {"2xx": (200, 300), "3xx": (300, 400), "4xx": (400, 500), "5xx": (500, 600)}


def webhook_attempt_list(
    *,
    organization,
    endpoint_ids: list | None = None,
    start_timestamp: dt.datetime | None = None,
    end_timestamp: dt.datetime | None = None,
    succeeded: bool | None = None,
    query: str | None = None,
    http_code_class: str | None = None,
    event_types: list[str] | None = None,
):
    """HTTP attempts (Polar's "deliveries") of the organization, with their delivery and event."""
    queryset = WebhookDeliveryAttempt.objects.filter(organization=organization).select_related(
        # WebhookEventOutput renders the event through the delivery (attempt.delivery.event).
        "delivery__endpoint",
        "delivery__event",
    )
    if endpoint_ids:
        queryset = queryset.filter(endpoint_id__in=endpoint_ids)
    if start_timestamp is not None:
        queryset = queryset.filter(attempted_at__gte=start_timestamp)
    if end_timestamp is not None:
        queryset = queryset.filter(attempted_at__lte=end_timestamp)
    if succeeded is not None:
        queryset = queryset.filter(succeeded=succeeded)
    if http_code_class:
        low, high = _HTTP_CODE_CLASSES[http_code_class]
        queryset = queryset.filter(http_code__gte=low, http_code__lt=high)
    if event_types:
        queryset = queryset.filter(event_type__in=event_types)
    if query:
        queryset = queryset.filter(Q(response__icontains=query) | Q(endpoint__url__icontains=query))
    return queryset
