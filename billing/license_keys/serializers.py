"""License key shapes: Polar's ``LicenseKeyRead``, ``LicenseKeyWithActivations``, ``ValidatedLicenseKey``,
``LicenseKeyActivationRead`` and the customer-portal request bodies."""

from rest_framework import serializers

from billing.models import LicenseKey
from polar.api.fields import (
    MAX_LICENSE_KEY_ACTIVATIONS,
    MAX_LICENSE_KEY_USAGE,
    BoundedDateTimeField,
    Int32Field,
)
from polar.api.metadata import validate_metadata


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
