"""Order shapes: Polar's ``Order`` with ``OrderItemSchema`` items (both SDKs' required keys)."""

from rest_framework import serializers

from billing.models import OrderBillingReason, OrderStatus
from polar.api.fields import AddressInput, Int32Field, Int64Field
from polar.api.metadata import validate_metadata


class OrderListQuery(serializers.Serializer):
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    product_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    customer_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    external_customer_id = serializers.ListField(child=serializers.CharField(), required=False)
    subscription_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    checkout_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    discount_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    billing_reason = serializers.ListField(child=serializers.ChoiceField(choices=OrderBillingReason.choices), required=False)
    status = serializers.ListField(child=serializers.ChoiceField(choices=OrderStatus.choices), required=False)
    # Polar's filter on the ordered product's billing type: both SDKs send it, and an unknown query key
    # would otherwise be ignored silently (every order listed).
    product_billing_type = serializers.ListField(child=serializers.ChoiceField(choices=["one_time", "recurring"]), required=False)


class OrderUpdateInput(serializers.Serializer):
    """Polar's ``OrderUpdate``: what the invoice shows."""

    billing_name = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=256)
    billing_address = AddressInput(required=False, allow_null=True)

    def validate_billing_name(self, value):
        return (value or "").strip() or None


class OrderCreateInput(serializers.Serializer):
    """Polar's ``OrderCreate``: a draft order for an off-session charge."""

    customer_id = serializers.UUIDField()
    product_id = serializers.UUIDField()
    organization_id = serializers.UUIDField(required=False, allow_null=True)
    currency = serializers.CharField(required=False, allow_null=True, max_length=3)
    amount = Int64Field(required=False, allow_null=True, min_value=0)
    units = Int32Field(required=False, allow_null=True, min_value=1)
    description = serializers.CharField(required=False, allow_null=True, max_length=512)
    metadata = serializers.JSONField(required=False)
    custom_field_data = serializers.DictField(required=False, allow_null=True)

    def validate_metadata(self, value):
        return validate_metadata(value) if value else {}

    def validate_units(self, value):
        if value is not None:
            raise serializers.ValidationError("Unit-based products are not supported by the off-session charge API.")
        return value


class OrderFinalizeInput(serializers.Serializer):
    payment_method_id = serializers.UUIDField(required=False, allow_null=True)
