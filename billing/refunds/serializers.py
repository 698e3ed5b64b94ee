"""Input of the refunds API: Polar's ``RefundCreate`` and the list's query."""

from rest_framework import serializers

from billing.models import RefundReason
from polar.money import MAX_AMOUNT

# Polar's RefundCreate accepts every reason but ``dispute_prevention`` (set by the platform itself).
CREATE_REASONS = [reason for reason in RefundReason.values if reason != RefundReason.DISPUTE_PREVENTION]


class RefundCreateInput(serializers.Serializer):
    order_id = serializers.UUIDField()
    reason = serializers.ChoiceField(choices=CREATE_REASONS)
    amount = serializers.IntegerField(min_value=1, max_value=MAX_AMOUNT)
    comment = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=4096)
    metadata = serializers.DictField(required=False, allow_null=True)
    revoke_benefits = serializers.BooleanField(required=False, allow_null=True, default=False)


class RefundListQuery(serializers.Serializer):
    id = serializers.ListField(child=serializers.UUIDField(), required=False)
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    order_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    subscription_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    customer_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    external_customer_id = serializers.ListField(child=serializers.CharField(), required=False)
    succeeded = serializers.BooleanField(required=False, allow_null=True, default=None)
