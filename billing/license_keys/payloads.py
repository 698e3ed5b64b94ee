"""Output shapes of license_keys: what the API returns and webhooks carry, computed from loaded rows."""

from rest_framework import serializers

from billing.models import LicenseKey, LicenseKeyActivation
from customers.payloads import customer_output
from polar.api.formatting import dt


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
