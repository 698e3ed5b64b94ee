"""Reading orders, always scoped to one organization."""

from __future__ import annotations

from django.db.models import Prefetch

from billing.models import Order, OrderItem


def order_list(
    *,
    organization,
    organization_id=None,
    product_id=None,
    customer_id=None,
    external_customer_id=None,
    subscription_id=None,
    checkout_id=None,
    discount_id=None,
    billing_reason=None,
    status=None,
    product_billing_type=None,
):
    """The organization's orders, filtered as Polar's ``GET /v1/orders/``."""
    queryset = (
        Order.objects.filter(organization=organization)
        .select_related("customer", "product", "subscription", "discount")
        .prefetch_related(Prefetch("items", queryset=OrderItem.objects.order_by("position", "created_at")))
    )
    for field, values in (
        ("organization_id", organization_id),
        ("product_id", product_id),
        ("customer_id", customer_id),
        ("customer__external_id", external_customer_id),
        ("subscription_id", subscription_id),
        ("checkout_id", checkout_id),
        ("discount_id", discount_id),
        ("billing_reason", billing_reason),
        ("status", status),
    ):
        if values:
            queryset = queryset.filter(**{f"{field}__in": values})
    if product_billing_type and len(set(product_billing_type)) == 1:
        # One-time products have no recurring interval; asking for both types is no filter.
        queryset = queryset.filter(product__recurring_interval__isnull=product_billing_type[0] == "one_time")
    return queryset


def order_get(*, organization, id) -> Order | None:
    return order_list(organization=organization).filter(pk=id).first()
