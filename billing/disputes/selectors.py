"""Reads of disputes, always scoped to an organization."""

from billing.models import Dispute, DisputeStatus


def dispute_list(*, organization, order_id=None, status=None, **_ignored):
    queryset = Dispute.objects.filter(organization=organization).select_related("customer")
    if order_id:
        queryset = queryset.filter(order_id__in=order_id)
    if status:
        statuses = set(status) | ({DisputeStatus.ACCEPTED} if DisputeStatus.LOST in status else set())
        queryset = queryset.filter(status__in=statuses)
    return queryset


def dispute_get(*, organization, id):
    return dispute_list(organization=organization).filter(pk=id).first()
