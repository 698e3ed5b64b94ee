"""Output shapes of benefits: what the API returns and webhooks carry, computed from loaded rows."""
import datetime

from rest_framework import serializers

from billing.models import Benefit, BenefitGrant

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

