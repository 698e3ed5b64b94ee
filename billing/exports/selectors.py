"""What the CSV exports read: one organization's rows, streamed in primary-key-ordered chunks
(``iterator(chunk_size=...)``: a server-side cursor, so memory stays flat however many rows there are)."""

from __future__ import annotations

from billing.models import Order, Subscription
from customers.models import Customer

CHUNK_SIZE = 1000


def customers_for_export(*, organization):
    """The organization's customers, oldest first (deleted ones are not exported, as on Polar)."""
    queryset = Customer.objects.filter(organization=organization, deleted_at__isnull=True).order_by("created_at", "id")
    return queryset.iterator(chunk_size=CHUNK_SIZE)


def orders_for_export(*, organization, product_id=None, status=None, created_after=None, created_before=None):
    """The organization's orders, newest first, filtered as Polar's ``GET /v1/orders/export``."""
    queryset = Order.objects.filter(organization=organization).select_related("customer", "product")
    if product_id:
        queryset = queryset.filter(product_id__in=product_id)
    if status:
        queryset = queryset.filter(status__in=status)
    if created_after is not None:
        queryset = queryset.filter(created_at__gt=created_after)
    if created_before is not None:
        queryset = queryset.filter(created_at__lt=created_before)
    return queryset.order_by("-created_at", "-id").iterator(chunk_size=CHUNK_SIZE)


def subscriptions_for_export(
    *, organization, product_id=None, status=None, cancel_at_period_end=None, started_after=None, started_before=None
):
    """The organization's subscriptions, newest first, filtered as Polar's ``GET /v1/subscriptions/export``."""
    queryset = (
        Subscription.objects.filter(organization=organization)
        .select_related("customer", "product", "discount")
        .prefetch_related("discount__amounts")
    )
    if product_id:
        queryset = queryset.filter(product_id__in=product_id)
    if status:
        queryset = queryset.filter(status__in=status)
    if cancel_at_period_end is not None:
        queryset = queryset.filter(cancel_at_period_end=cancel_at_period_end)
    if started_after is not None:
        queryset = queryset.filter(started_at__gt=started_after)
    if started_before is not None:
        queryset = queryset.filter(started_at__lt=started_before)
    return queryset.order_by("-created_at", "-id").iterator(chunk_size=CHUNK_SIZE)
