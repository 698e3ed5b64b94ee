"""Benefit and benefit-grant shapes (Polar's ``Benefit*`` and ``BenefitGrant*``), input and output.

Outputs are hand-written ``to_representation``s: the wire shape is fixed by the SDKs, and the same
dicts go into webhook payloads (JSON-ready: strings for ids, datetimes and decimals).
"""

from rest_framework import serializers

from billing.models import Benefit
from polar.api.fields import (
    MAX_LICENSE_KEY_ACTIVATIONS,
    MAX_LICENSE_KEY_TTL,
    MAX_LICENSE_KEY_USAGE,
    Int32Field,
)
from polar.api.metadata import validate_metadata

SUPPORTED_BENEFIT_TYPES = [choice.value for choice in Benefit.Type]


class CustomPropertiesInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=10_000)


class FeatureFlagPropertiesInput(serializers.Serializer):
    pass


class MeterCreditPropertiesInput(serializers.Serializer):
    units = Int32Field(min_value=1)
    rollover = serializers.BooleanField()
    meter_id = serializers.UUIDField()


class LicenseKeyExpiresInput(serializers.Serializer):
    ttl = Int32Field(min_value=1)
    timeframe = serializers.ChoiceField(choices=["year", "month", "day"])

    def validate(self, attrs):
        # Bounded per timeframe (at most 100 years), so that the expiry of a key granted today is a datetime.
        maximum = MAX_LICENSE_KEY_TTL[attrs["timeframe"]]
        if attrs["ttl"] > maximum:
            raise serializers.ValidationError(
                {"ttl": serializers.ErrorDetail(f"Input should be less than or equal to {maximum}", code="max_value")}
            )
        return attrs


class LicenseKeyActivationsInput(serializers.Serializer):
    limit = Int32Field(min_value=1, max_value=MAX_LICENSE_KEY_ACTIVATIONS)
    enable_customer_admin = serializers.BooleanField()


class LicenseKeysPropertiesInput(serializers.Serializer):
    prefix = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=32)
    expires = LicenseKeyExpiresInput(required=False, allow_null=True)
    activations = LicenseKeyActivationsInput(required=False, allow_null=True)
    limit_usage = Int32Field(required=False, allow_null=True, min_value=1, max_value=MAX_LICENSE_KEY_USAGE)


PROPERTIES_INPUTS = {
    Benefit.Type.CUSTOM: CustomPropertiesInput,
    Benefit.Type.FEATURE_FLAG: FeatureFlagPropertiesInput,
    Benefit.Type.METER_CREDIT: MeterCreditPropertiesInput,
    Benefit.Type.LICENSE_KEYS: LicenseKeysPropertiesInput,
}


def _parse_properties(benefit_type: str, data):
    serializer = PROPERTIES_INPUTS[benefit_type](data=data if data is not None else {})
    if not serializer.is_valid():
        raise serializers.ValidationError({"properties": serializer.errors})
    return dict(serializer.validated_data)


class BenefitCreateInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=SUPPORTED_BENEFIT_TYPES)
    description = serializers.CharField(min_length=1, max_length=256)
    properties = serializers.DictField(required=False, default=dict)
    metadata = serializers.JSONField(required=False, allow_null=True, default=dict, validators=[validate_metadata])
    visibility = serializers.ChoiceField(choices=Benefit.Visibility.choices, required=False)
    organization_id = serializers.UUIDField(required=False, allow_null=True)

    def validate(self, attrs):
        attrs["properties"] = _parse_properties(attrs["type"], self.initial_data.get("properties"))
        attrs["metadata"] = attrs.get("metadata") or {}
        return attrs


class BenefitUpdateInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=SUPPORTED_BENEFIT_TYPES, required=False)
    description = serializers.CharField(min_length=1, max_length=256, required=False)
    properties = serializers.DictField(required=False)
    metadata = serializers.JSONField(required=False, allow_null=True, validators=[validate_metadata])
    visibility = serializers.ChoiceField(choices=Benefit.Visibility.choices, required=False)

    def validate(self, attrs):
        benefit = self.context["benefit"]
        if "type" in attrs and attrs["type"] != benefit.type:
            raise serializers.ValidationError({"type": ["The type of a benefit cannot be changed."]})
        attrs.pop("type", None)
        if "properties" in attrs:
            attrs["properties"] = _parse_properties(benefit.type, self.initial_data.get("properties"))
        if "metadata" in attrs and attrs["metadata"] is None:
            attrs["metadata"] = {}
        return attrs


class BenefitListQuery(serializers.Serializer):
    type = serializers.ListField(child=serializers.ChoiceField(choices=SUPPORTED_BENEFIT_TYPES), required=False)
    query = serializers.CharField(required=False)
    id = serializers.ListField(child=serializers.UUIDField(), required=False)
    exclude_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
