"""Custom field inputs: Polar's ``CustomFieldCreate*`` / ``CustomFieldUpdate*`` (discriminated by ``type``),
with the properties each type accepts, and the list filters."""

import re

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from billing.models import CustomFieldType
from polar.api.fields import Int32Field
from polar.api.metadata import validate_metadata

SLUG = re.compile(r"^[a-z0-9\-_]+$")
INT32_MIN = -(2**31)


class _BaseProperties(serializers.Serializer):
    form_label = serializers.CharField(required=False, min_length=1, max_length=256, trim_whitespace=False)
    form_help_text = serializers.CharField(required=False, min_length=1, max_length=2048, trim_whitespace=False)
    form_placeholder = serializers.CharField(required=False, min_length=1, max_length=256, trim_whitespace=False)


class TextProperties(_BaseProperties):
    textarea = serializers.BooleanField(required=False)
    min_length = Int32Field(required=False, min_value=0)
    max_length = Int32Field(required=False, min_value=0)

    def validate(self, data):
        if data.get("min_length") is not None and data.get("max_length") is not None and data["min_length"] > data["max_length"]:
            raise serializers.ValidationError({"max_length": ["max_length must be greater than or equal to min_length"]})
        return data


class ComparableProperties(_BaseProperties):
    ge = Int32Field(required=False, min_value=INT32_MIN)
    le = Int32Field(required=False, min_value=INT32_MIN)

    def validate(self, data):
        if data.get("ge") is not None and data.get("le") is not None and data["ge"] > data["le"]:
            raise serializers.ValidationError(
                {"le": ["Greater than or equal (ge) must be less than or equal to Less than or equal (le)"]}
            )
        return data


class SelectOption(serializers.Serializer):
    value = serializers.CharField(min_length=1, max_length=256, trim_whitespace=False)
    label = serializers.CharField(min_length=1, max_length=256, trim_whitespace=False)


class SelectProperties(_BaseProperties):
    options = serializers.ListField(child=SelectOption(), min_length=1, max_length=1000)


PROPERTIES = {
    CustomFieldType.TEXT: TextProperties,
    CustomFieldType.NUMBER: ComparableProperties,
    CustomFieldType.DATE: ComparableProperties,
    CustomFieldType.CHECKBOX: _BaseProperties,
    CustomFieldType.SELECT: SelectProperties,
}


class _CustomFieldInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=CustomFieldType.choices)
    metadata = serializers.JSONField(required=False)

    def validate_metadata(self, value):
        return validate_metadata(value) if value else {}

    def validate_slug(self, value):
        if value is None:
            return value
        value = value.lower()
        if not SLUG.match(value):
            raise serializers.ValidationError("String should match pattern '^[a-z0-9-_]+$'", code="string_pattern_mismatch")
        return value

    def validate(self, data):
        properties = data.get("properties")
        if properties is not None:
            serializer = PROPERTIES[data["type"]](data=properties)
            if not serializer.is_valid():
                raise serializers.ValidationError({"properties": serializer.errors})
            # Only the keys of this type are kept (as Polar's TypedDicts drop nothing but accept nothing else).
            data["properties"] = {key: value for key, value in serializer.validated_data.items() if value is not None}
            if "options" in data["properties"]:
                data["properties"]["options"] = [dict(option) for option in data["properties"]["options"]]
        return data


class CustomFieldCreateInput(_CustomFieldInput):
    slug = serializers.CharField(min_length=1, max_length=256)
    name = serializers.CharField(min_length=1, max_length=256)
    organization_id = serializers.UUIDField(required=False, allow_null=True)
    properties = serializers.DictField()


class CustomFieldUpdateInput(_CustomFieldInput):
    slug = serializers.CharField(required=False, allow_null=True, min_length=1, max_length=256)
    name = serializers.CharField(required=False, allow_null=True, min_length=1, max_length=256)
    properties = serializers.DictField(required=False, allow_null=True)


class CustomFieldListQuery(serializers.Serializer):
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    query = serializers.CharField(required=False, max_length=256)
    type = serializers.ListField(child=serializers.ChoiceField(choices=CustomFieldType.choices), required=False)


class AttachedCustomFieldInput(serializers.Serializer):
    """Polar's ``AttachedCustomFieldCreate``: what ``attached_custom_fields`` on a product lists."""

    custom_field_id = serializers.UUIDField()
    required = serializers.BooleanField()

    def to_internal_value(self, data):
        # Both keys are required even inside a partial update of the product (DRF's partial reaches nested
        # serializers): an entry is a whole attachment, never a patch of one.
        if isinstance(data, dict):
            missing = {
                name: [ErrorDetail("This field is required.", code="required")] for name in self.fields if name not in data
            }
            if missing:
                raise serializers.ValidationError(missing)
        return super().to_internal_value(data)
