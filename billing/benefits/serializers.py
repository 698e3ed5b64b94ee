"""Benefit and benefit-grant shapes (Polar's ``Benefit*`` and ``BenefitGrant*``), input and output.

Outputs are hand-written ``to_representation``s: the wire shape is fixed by the SDKs, and the same
dicts go into webhook payloads (JSON-ready: strings for ids, datetimes and decimals).
"""
import datetime

from rest_framework import serializers

from billing.models import Benefit, BenefitGrant
from polar.api.fields import (
    MAX_LICENSE_KEY_ACTIVATIONS,
    MAX_LICENSE_KEY_TTL,
    MAX_LICENSE_KEY_USAGE,
    Int32Field,
)
from polar.api.metadata import validate_metadata

_datetime_field = serializers.DateTimeField()
_UTC = datetime.timezone.utc


def dt(value):
    """A datetime as the API writes it: what DRF's ``DateTimeField`` renders with ``TIME_ZONE = "UTC"``
    (ISO 8601, UTC, ``Z``), computed directly: every resource and webhook payload renders many."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        text = value.astimezone(_UTC).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return _datetime_field.to_representation(value)


def sid(value):
    return None if value is None else str(value)


def customer_output(customer) -> dict:
    """A customer in Polar's ``Customer`` shape (both SDKs' required keys), for embedding in grants and
    license keys. The customers API owns the full resource; this is the same data, read-only."""
    return {
        "id": str(customer.id),
        "created_at": dt(customer.created_at),
        "modified_at": dt(customer.modified_at),
        "metadata": customer.metadata or {},
        "external_id": customer.external_id,
        "email": customer.email,
        "email_verified": customer.email_verified,
        "type": customer.type,
        "name": customer.name,
        "billing_name": customer.billing_name,
        "billing_address": customer.billing_address,
        "tax_id": customer.tax_id,
        "locale": customer.locale,
        "organization_id": str(customer.organization_id),
        "default_payment_method_id": sid(customer.default_payment_method_id),
        "deleted_at": dt(customer.deleted_at),
        "first_user_event_at": dt(customer.first_user_event_at),
        "avatar_url": None,
    }


def benefit_properties_output(benefit: Benefit) -> dict:
    props = benefit.properties or {}
    if benefit.type == Benefit.Type.CUSTOM:
        return {"note": props.get("note")}
    if benefit.type == Benefit.Type.METER_CREDIT:
        return {"units": props["units"], "rollover": props["rollover"], "meter_id": str(benefit.meter_id)}
    if benefit.type == Benefit.Type.LICENSE_KEYS:
        return {
            "prefix": props.get("prefix"),
            "expires": props.get("expires"),
            "activations": props.get("activations"),
            "limit_usage": props.get("limit_usage"),
        }
    return {}


class BenefitOutput(serializers.BaseSerializer):
    def to_representation(self, benefit: Benefit) -> dict:
        return {
            "id": str(benefit.id),
            "created_at": dt(benefit.created_at),
            "modified_at": dt(benefit.modified_at),
            # The discriminator: 1.0.2 requires it, 0.32.0 uses it to pick the model.
            "type": benefit.type,
            "description": benefit.description,
            "selectable": benefit.selectable,
            "deletable": benefit.deletable,
            "is_deleted": benefit.is_deleted,
            "organization_id": str(benefit.organization_id),
            "metadata": benefit.metadata or {},
            "visibility": benefit.visibility,
            "visibility_configurable": True,
            "properties": benefit_properties_output(benefit),
        }


class BenefitGrantOutput(serializers.BaseSerializer):
    """Polar's ``BenefitGrant`` (also the ``benefit_grant.*`` webhook data)."""

    def to_representation(self, grant: BenefitGrant) -> dict:
        return {
            "id": str(grant.id),
            "created_at": dt(grant.created_at),
            "modified_at": dt(grant.modified_at),
            "granted_at": dt(grant.granted_at),
            "is_granted": grant.is_granted,
            "revoked_at": dt(grant.revoked_at),
            "is_revoked": grant.is_revoked,
            "subscription_id": sid(grant.subscription_id),
            "order_id": sid(grant.order_id),
            "customer_id": str(grant.customer_id),
            "member_id": None,
            "benefit_id": str(grant.benefit_id),
            "error": grant.error,
            "customer": customer_output(grant.customer),
            "member": None,
            "benefit": BenefitOutput(grant.benefit).data,
            "properties": grant.properties or {},
            "previous_properties": None,
        }


# --- input ------------------------------------------------------------------

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
