"""Wire shapes of customers: input serializers (Polar's CustomerCreate/CustomerUpdate) and the output
carrying every field both SDKs require (0.32.x and 1.0.x: the union, incl. ``type`` and ``first_user_event_at``)."""

from rest_framework import serializers

from customers.models import Customer
from polar.api.fields import AddressInput
from polar.api.metadata import MetadataField


class OwnerInput(serializers.Serializer):
    """Polar's MemberOwnerCreate: the customer's owner member, created with the customer."""

    email = serializers.EmailField()
    name = serializers.CharField(required=False, allow_null=True, max_length=256)
    external_id = serializers.CharField(required=False, allow_null=True, max_length=256)


class CustomerCreateInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=Customer.Type.choices, required=False, allow_null=True)
    email = serializers.EmailField(required=False, allow_null=True, max_length=320)
    name = serializers.CharField(required=False, allow_null=True, max_length=256)
    billing_address = AddressInput(required=False, allow_null=True)
    tax_id = serializers.CharField(required=False, allow_null=True, max_length=64)
    locale = serializers.CharField(required=False, allow_null=True, max_length=16)
    external_id = serializers.CharField(required=False, allow_null=True, max_length=256)
    metadata = MetadataField(allow_null=True)
    organization_id = serializers.UUIDField(required=False, allow_null=True)
    owner = OwnerInput(required=False, allow_null=True)

    def validate(self, attrs):
        attrs["type"] = attrs.get("type") or Customer.Type.INDIVIDUAL
        if attrs["type"] == Customer.Type.INDIVIDUAL and not attrs.get("email"):
            raise serializers.ValidationError({"email": serializers.ErrorDetail("Field required", code="missing")})
        organization_id = attrs.pop("organization_id", None)
        view = self.context.get("view")
        if organization_id is not None and view is not None and organization_id != view.organization.id:
            raise serializers.ValidationError(
                {"organization_id": serializers.ErrorDetail("Organization not found.", code="value_error")}
            )
        if attrs.get("owner") is None:
            attrs.pop("owner", None)
        return attrs


class CustomerUpdateExternalInput(serializers.Serializer):
    """Polar's CustomerUpdateExternalID: the external id and type are not changeable through it."""

    email = serializers.EmailField(required=False, allow_null=True, max_length=320)
    name = serializers.CharField(required=False, allow_null=True, max_length=256)
    billing_address = AddressInput(required=False, allow_null=True)
    tax_id = serializers.CharField(required=False, allow_null=True, max_length=64)
    locale = serializers.CharField(required=False, allow_null=True, max_length=16)
    metadata = MetadataField(allow_null=True)


class CustomerUpdateInput(CustomerUpdateExternalInput):
    external_id = serializers.CharField(required=False, allow_null=True, max_length=256)
    type = serializers.ChoiceField(choices=Customer.Type.choices, required=False, allow_null=True)


class CustomerListQuery(serializers.Serializer):
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    email = serializers.CharField(required=False)
    query = serializers.CharField(required=False)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


class CustomerDeleteQuery(serializers.Serializer):
    anonymize = serializers.BooleanField(required=False, default=False)


class MemberCreateInput(serializers.Serializer):
    """Polar's MemberCreateFromCustomer: the customer is the one in the path; owners are made by transfer."""

    email = serializers.EmailField(max_length=320)
    name = serializers.CharField(required=False, allow_null=True, max_length=256)
    external_id = serializers.CharField(required=False, allow_null=True, max_length=256)
    role = serializers.ChoiceField(choices=["member", "billing_manager"], required=False, default="member")


class MemberUpdateInput(serializers.Serializer):
    """Polar's MemberUpdate."""

    name = serializers.CharField(required=False, allow_null=True, max_length=256)
    email = serializers.EmailField(required=False, allow_null=True, max_length=320)
    role = serializers.ChoiceField(choices=["owner", "billing_manager", "member"], required=False, allow_null=True)


class MemberListQuery(serializers.Serializer):
    role = serializers.ChoiceField(choices=["owner", "billing_manager", "member"], required=False)
