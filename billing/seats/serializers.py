"""Input shapes of seats: Polar's ``SeatAssign`` and ``SeatClaim`` and the list query."""

from rest_framework import serializers


class SeatAssignInput(serializers.Serializer):
    subscription_id = serializers.UUIDField(required=False, allow_null=True)
    order_id = serializers.UUIDField(required=False, allow_null=True)
    checkout_id = serializers.UUIDField(required=False, allow_null=True)
    email = serializers.EmailField(required=False, allow_null=True, max_length=320)
    external_customer_id = serializers.CharField(required=False, allow_null=True, max_length=256)
    customer_id = serializers.UUIDField(required=False, allow_null=True)
    external_member_id = serializers.CharField(required=False, allow_null=True, max_length=256)
    member_id = serializers.UUIDField(required=False, allow_null=True)
    metadata = serializers.DictField(required=False, allow_null=True)
    immediate_claim = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        if (attrs.get("subscription_id") is None) == (attrs.get("order_id") is None):
            raise serializers.ValidationError(
                {
                    "subscription_id": serializers.ErrorDetail(
                        "Exactly one of subscription_id or order_id is required.", code="missing"
                    )
                }
            )
        attrs.pop("checkout_id", None)
        return attrs


class SeatClaimInput(serializers.Serializer):
    invitation_token = serializers.CharField(max_length=256)


class SeatListQuery(serializers.Serializer):
    subscription_id = serializers.UUIDField(required=False)
    order_id = serializers.UUIDField(required=False)

    def validate(self, attrs):
        if (attrs.get("subscription_id") is None) == (attrs.get("order_id") is None):
            raise serializers.ValidationError(
                {
                    "subscription_id": serializers.ErrorDetail(
                        "Exactly one of subscription_id or order_id is required.", code="missing"
                    )
                }
            )
        return attrs
