"""License key shapes: Polar's ``LicenseKeyRead``, ``LicenseKeyWithActivations``, ``ValidatedLicenseKey``,
``LicenseKeyActivationRead`` and the customer-portal request bodies."""
from rest_framework import serializers

from billing.models import LicenseKey, LicenseKeyActivation
from polar.api.fields import (
    MAX_LICENSE_KEY_ACTIVATIONS,
    MAX_LICENSE_KEY_USAGE,
    BoundedDateTimeField,
    Int32Field,
)
from polar.api.metadata import validate_metadata

from billing.benefits.serializers import customer_output, dt


class LicenseKeyOutput(serializers.BaseSerializer):
    def to_representation(self, key: LicenseKey) -> dict:
        return {
            "id": str(key.id),
            "created_at": dt(key.created_at),
            "modified_at": dt(key.modified_at),
            "organization_id": str(key.organization_id),
            "customer_id": str(key.customer_id),
            "customer": customer_output(key.customer),
            "benefit_id": str(key.benefit_id),
            "key": key.key,
            "display_key": key.display_key,
            "status": key.status,
            "limit_activations": key.limit_activations,
            "usage": key.usage,
            "limit_usage": key.limit_usage,
            "validations": key.validations,
            "last_validated_at": dt(key.last_validated_at),
            "expires_at": dt(key.expires_at),
        }


class LicenseKeyActivationBaseOutput(serializers.BaseSerializer):
    def to_representation(self, activation: LicenseKeyActivation) -> dict:
        return {
            "id": str(activation.id),
            "license_key_id": str(activation.license_key_id),
            "label": activation.label,
            "meta": activation.meta or {},
            "created_at": dt(activation.created_at),
            "modified_at": dt(activation.modified_at),
        }


class LicenseKeyWithActivationsOutput(LicenseKeyOutput):
    def to_representation(self, key: LicenseKey) -> dict:
        data = super().to_representation(key)
        data["activations"] = LicenseKeyActivationBaseOutput(key.activations.all(), many=True).data
        return data


class LicenseKeyActivationOutput(LicenseKeyActivationBaseOutput):
    def to_representation(self, activation: LicenseKeyActivation) -> dict:
        data = super().to_representation(activation)
        data["license_key"] = LicenseKeyOutput(activation.license_key).data
        return data


def validated_license_key_output(key: LicenseKey, activation: LicenseKeyActivation | None) -> dict:
    data = LicenseKeyOutput(key).data
    data["activation"] = LicenseKeyActivationBaseOutput(activation).data if activation else None
    return data


class _KeyInput(serializers.Serializer):
    key = serializers.CharField(max_length=128)
    organization_id = serializers.UUIDField()


class LicenseKeyValidateInput(_KeyInput):
    activation_id = serializers.UUIDField(required=False, allow_null=True)
    benefit_id = serializers.UUIDField(required=False, allow_null=True)
    customer_id = serializers.UUIDField(required=False, allow_null=True)
    increment_usage = Int32Field(required=False, allow_null=True, min_value=1, max_value=MAX_LICENSE_KEY_USAGE)
    conditions = serializers.JSONField(required=False, allow_null=True, validators=[validate_metadata])


class LicenseKeyActivateInput(_KeyInput):
    label = serializers.CharField(max_length=256)
    conditions = serializers.JSONField(required=False, allow_null=True, validators=[validate_metadata])
    meta = serializers.JSONField(required=False, allow_null=True, validators=[validate_metadata])


class LicenseKeyDeactivateInput(_KeyInput):
    activation_id = serializers.UUIDField()


class LicenseKeyListQuery(serializers.Serializer):
    status = serializers.ListField(child=serializers.ChoiceField(choices=LicenseKey.Status.choices), required=False)
    benefit_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)


class LicenseKeyUpdateInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=LicenseKey.Status.choices, required=False, allow_null=True)
    usage = Int32Field(required=False, min_value=0, max_value=MAX_LICENSE_KEY_USAGE)
    limit_activations = Int32Field(required=False, allow_null=True, min_value=1, max_value=MAX_LICENSE_KEY_ACTIVATIONS)
    limit_usage = Int32Field(required=False, allow_null=True, min_value=1, max_value=MAX_LICENSE_KEY_USAGE)
    expires_at = BoundedDateTimeField(required=False, allow_null=True)

    def validate(self, attrs):
        if "status" in attrs and attrs["status"] is None:
            del attrs["status"]
        return attrs
