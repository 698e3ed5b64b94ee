"""Wire shapes of customers: input serializers (Polar's CustomerCreate/CustomerUpdate) and the output
carrying every field both SDKs require (0.32.x and 1.0.x: the union, incl. ``type`` and ``first_user_event_at``)."""
import hashlib

from rest_framework import serializers

from customers.models import Customer
from polar.api.fields import ADDRESS_FIELDS, AddressInput
from polar.api.metadata import MetadataField


class OwnerInput(serializers.Serializer):
    """Polar's MemberOwnerCreate. Accepted for compatibility; team members are not modelled yet."""

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


def avatar_url(email: str | None) -> str | None:
    if not email:
        return None
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?d=404"


class CustomerOutput(serializers.ModelSerializer):
    organization_id = serializers.UUIDField()
    metadata = MetadataField()
    billing_name = serializers.SerializerMethodField()
    billing_address = serializers.SerializerMethodField()
    avatar_url = serializers.SerializerMethodField()
    default_payment_method_id = serializers.UUIDField(allow_null=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "created_at",
            "modified_at",
            "metadata",
            "external_id",
            "email",
            "email_verified",
            "type",
            "name",
            "billing_name",
            "billing_address",
            "tax_id",
            "locale",
            "organization_id",
            "default_payment_method_id",
            "deleted_at",
            "first_user_event_at",
            "avatar_url",
        ]

    def get_billing_name(self, customer) -> str | None:
        # Polar falls back to the customer's name when no billing name was given.
        return customer.billing_name or customer.name

    def get_billing_address(self, customer) -> dict | None:
        if not customer.billing_address:
            return None
        return {name: customer.billing_address.get(name) for name in ADDRESS_FIELDS}

    def get_avatar_url(self, customer) -> str | None:
        return avatar_url(customer.email)


class CustomerStateOutput(CustomerOutput):
    """The customer plus what merchants gate features on; the lists come from ``customer_state()``."""

    active_subscriptions = serializers.SerializerMethodField()
    granted_benefits = serializers.SerializerMethodField()
    active_meters = serializers.SerializerMethodField()

    class Meta(CustomerOutput.Meta):
        fields = [*CustomerOutput.Meta.fields, "active_subscriptions", "granted_benefits", "active_meters"]

    def _state(self, customer) -> dict:
        return self.context["state"]

    def get_active_subscriptions(self, customer) -> list:
        return self._state(customer)["active_subscriptions"]

    def get_granted_benefits(self, customer) -> list:
        return self._state(customer)["granted_benefits"]

    def get_active_meters(self, customer) -> list:
        return self._state(customer)["active_meters"]
