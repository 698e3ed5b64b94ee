"""Output shapes of customers: what the API returns and webhooks carry, computed from loaded rows."""

import hashlib

from rest_framework import serializers

from customers.models import Customer
from polar.api.fields import ADDRESS_FIELDS
from polar.api.formatting import dt, sid
from polar.api.metadata import MetadataField
from polar.api.output import BuiltOnceModelSerializer


def avatar_url(email: str | None) -> str | None:
    if not email:
        return None
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?d=404"


class CustomerOutput(BuiltOnceModelSerializer):
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


def member_output(member) -> dict:
    """A member in Polar's ``Member`` shape (the API resource and the ``member.*`` webhooks' data)."""
    return {
        "id": str(member.id),
        "created_at": dt(member.created_at),
        "modified_at": dt(member.modified_at),
        "customer_id": str(member.customer_id),
        "email": member.email,
        "name": member.name,
        "external_id": member.external_id,
        "role": member.role,
    }


class MemberOutput(serializers.BaseSerializer):
    def to_representation(self, member) -> dict:
        return member_output(member)
