"""Output shape of a dispute: Polar's ``Dispute`` (an accepted dispute reads ``lost``, closed)."""

from rest_framework import serializers

from billing.models import Dispute, DisputeStatus
from customers.payloads import customer_output
from polar import clock
from polar.api.formatting import dt


def dispute_output(dispute: Dispute) -> dict:
    status = DisputeStatus.LOST if dispute.status == DisputeStatus.ACCEPTED else dispute.status
    closed = not dispute.is_open
    return {
        "id": str(dispute.id),
        "created_at": dt(dispute.created_at),
        "modified_at": dt(dispute.modified_at),
        "status": status,
        "resolved": closed,
        "closed": closed,
        "amount": dispute.amount,
        "tax_amount": dispute.tax_amount,
        "currency": dispute.currency,
        "reason": dispute.reason,
        "evidence_due_by": dt(dispute.evidence_due_by),
        "past_due": bool(dispute.is_open and dispute.evidence_due_by and dispute.evidence_due_by < clock.now()),
        "order_id": str(dispute.order_id),
        "payment_id": str(dispute.payment_id),
        "customer": customer_output(dispute.customer),
        "case_id": dispute.processor_dispute_ref,
    }


class DisputeOutput(serializers.BaseSerializer):
    def to_representation(self, instance):
        return dispute_output(instance)
