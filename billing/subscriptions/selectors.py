"""Reading subscriptions, always scoped to one organization."""

from __future__ import annotations

from django.db.models import Prefetch

from billing.catalog.selectors import products_for_output
from billing.models import PendingSubscriptionUpdate, Subscription, SubscriptionPrice


def subscription_list(
    *,
    organization,
    organization_id=None,
    product_id=None,
    customer_id=None,
    external_customer_id=None,
    discount_id=None,
    status=None,
    active: bool | None = None,
    cancel_at_period_end: bool | None = None,
):
    """The organization's subscriptions, filtered as Polar's ``GET /v1/subscriptions/``.

    ``active`` true means trialing, active or past_due (the customer still has access); false the others.
    """
    queryset = (
        Subscription.objects.filter(organization=organization)
        .select_related("customer", "discount")
        # What SubscriptionOutput renders per row, fetched once per page instead of once per subscription
        # (the embedded product with its prices, benefits, custom fields and is_deletable included).
        .prefetch_related(
            Prefetch("product", queryset=products_for_output()),
            Prefetch("subscription_prices", queryset=SubscriptionPrice.objects.select_related("product_price__meter")),
            Prefetch(
                "pending_updates",
                queryset=PendingSubscriptionUpdate.objects.filter(applied_at__isnull=True, canceled_at__isnull=True),
                to_attr="open_pending_updates",
            ),
        )
    )
    if organization_id:
        queryset = queryset.filter(organization_id__in=organization_id)
    if product_id:
        queryset = queryset.filter(product_id__in=product_id)
    if customer_id:
        queryset = queryset.filter(customer_id__in=customer_id)
    if external_customer_id:
        queryset = queryset.filter(customer__external_id__in=external_customer_id)
    if discount_id:
        queryset = queryset.filter(discount_id__in=discount_id)
    if status:
        queryset = queryset.filter(status__in=status)
    if active is not None:
        queryset = (queryset.filter if active else queryset.exclude)(status__in=Subscription.ACTIVE_STATUSES)
    if cancel_at_period_end is not None:
        queryset = queryset.filter(cancel_at_period_end=cancel_at_period_end)
    return queryset


def subscription_get(*, organization, id) -> Subscription | None:
    return subscription_list(organization=organization).filter(pk=id).first()
