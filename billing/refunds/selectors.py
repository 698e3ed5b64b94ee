"""Reads of refunds, always scoped to an organization."""

from billing.models import Refund, RefundStatus


def refund_list(*, organization, id=None, order_id=None, subscription_id=None, customer_id=None, succeeded=None, **_ignored):
    queryset = Refund.objects.filter(organization=organization)
    if id:
        queryset = queryset.filter(id__in=id)
    if order_id:
        queryset = queryset.filter(order_id__in=order_id)
    if subscription_id:
        queryset = queryset.filter(subscription_id__in=subscription_id)
    if customer_id:
        queryset = queryset.filter(customer_id__in=customer_id)
    if succeeded is not None:
        queryset = (
            queryset.filter(status=RefundStatus.SUCCEEDED) if succeeded else queryset.exclude(status=RefundStatus.SUCCEEDED)
        )
    return queryset
