"""Input of the customer-session and customer-portal operations (Polar's request shapes)."""

from rest_framework import serializers


class CustomerSessionCreateInput(serializers.Serializer):
    """Polar's ``CustomerSessionCustomerIDCreate | CustomerSessionCustomerExternalIDCreate``. The member
    fields are accepted and unused: members are not modelled (Polar ignores them too without its member model)."""

    customer_id = serializers.UUIDField(required=False)
    external_customer_id = serializers.CharField(required=False, max_length=256)
    # Polar's older name of external_customer_id (its validation alias).
    customer_external_id = serializers.CharField(required=False, max_length=256, write_only=True)
    return_url = serializers.URLField(required=False, allow_null=True, max_length=2048)
    member_id = serializers.UUIDField(required=False, allow_null=True)
    external_member_id = serializers.CharField(required=False, allow_null=True, max_length=256)

    def validate(self, attrs):
        if "customer_external_id" in attrs:
            attrs.setdefault("external_customer_id", attrs.pop("customer_external_id"))
        if "customer_id" not in attrs and "external_customer_id" not in attrs:
            raise serializers.ValidationError({"customer_id": ["Field required"]})
        return attrs
