"""Output shapes of license_keys: what the API returns and webhooks carry, computed from loaded rows."""

from rest_framework import serializers

from billing.license_keys.selectors import license_key_grant_source
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
            # 2026-10: the seat member holding the key. Seats are not built yet: always direct grants.
            "member_id": None,
            "member": None,
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


def granted_license_key_output(key: LicenseKey) -> dict:
    """Polar's ``GrantedLicenseKey`` (2027-01 shape: with the subscription or order that granted it)."""
    data = LicenseKeyOutput(key).data
    subscription, order = license_key_grant_source(key)
    data["subscription_id"] = str(subscription.id) if subscription else None
    data["subscription"] = (
        {
            "id": str(subscription.id),
            "status": subscription.status,
            "current_period_start": dt(subscription.current_period_start),
            "current_period_end": dt(subscription.current_period_end),
            "cancel_at_period_end": subscription.cancel_at_period_end,
            "ends_at": dt(subscription.ends_at),
        }
        if subscription
        else None
    )
    data["order_id"] = str(order.id) if order else None
    data["order"] = (
        {"id": str(order.id), "created_at": dt(order.created_at), "status": order.status, "paid": order.paid} if order else None
    )
    return data


def granted_license_key_activation_output(activation: LicenseKeyActivation) -> dict:
    """Polar's ``LicenseKeyActivationRead`` as ``activate`` answers it (its key is a ``GrantedLicenseKey``)."""
    data = LicenseKeyActivationBaseOutput(activation).data
    data["license_key"] = granted_license_key_output(activation.license_key)
    return data


def validated_license_key_output(key: LicenseKey, activation: LicenseKeyActivation | None) -> dict:
    data = granted_license_key_output(key)
    data["activation"] = LicenseKeyActivationBaseOutput(activation).data if activation else None
    return data
