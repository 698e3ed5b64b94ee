"""Output shape of a refund: Polar's ``Refund`` (both SDKs' required keys), from the loaded row."""

from rest_framework import serializers

from billing.models import Refund
from polar.api.formatting import dt, sid


def refund_output(refund: Refund) -> dict:
    return {
        "id": str(refund.id),
        "created_at": dt(refund.created_at),
        "modified_at": dt(refund.modified_at),
        "metadata": refund.metadata or {},
        "status": refund.status,
        "reason": refund.reason,
        "amount": refund.amount,
        "tax_amount": refund.tax_amount,
        "currency": refund.currency,
        "organization_id": str(refund.organization_id),
        "order_id": str(refund.order_id),
        "subscription_id": sid(refund.subscription_id),
        "customer_id": str(refund.customer_id),
        "revoke_benefits": refund.revoke_benefits,
        # Disputes are not linked to refunds yet.
        "dispute": None,
    }


class RefundOutput(serializers.BaseSerializer):
    def to_representation(self, instance):
        return refund_output(instance)
