"""Subscription shapes: Polar's ``Subscription`` (both SDKs' required keys), ``OrderSubscription``,
``PendingSubscriptionUpdate``, and the create/update/list inputs.

Outputs are hand-written dicts (the same data goes into webhook payloads). Optional keys that 0.32.0
types as non-nullable (``seats``, ``past_due_at``) are omitted rather than sent as null.
"""

from rest_framework import serializers

from billing.models import (
    CustomerCancellationReason,
    ProrationBehavior,
    SubscriptionStatus,
)
from polar.api.fields import MAX_TRIAL_AHEAD, BoundedDateTimeField, SeatsField
from polar.api.metadata import validate_metadata


class SubscriptionListQuery(serializers.Serializer):
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    product_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    customer_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    external_customer_id = serializers.ListField(child=serializers.CharField(), required=False)
    discount_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    status = serializers.ListField(child=serializers.ChoiceField(choices=SubscriptionStatus.choices), required=False)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)
    cancel_at_period_end = serializers.BooleanField(required=False, allow_null=True, default=None)


class SubscriptionCreateInput(serializers.Serializer):
    customer_id = serializers.UUIDField(required=False)
    external_customer_id = serializers.CharField(required=False, max_length=256)
    product_id = serializers.UUIDField()
    payment_method_id = serializers.UUIDField(required=False, allow_null=True)
    discount_id = serializers.UUIDField(required=False, allow_null=True)
    seats = SeatsField(required=False, allow_null=True)
    units = SeatsField(required=False, allow_null=True)
    # At most MAX_TRIAL_AHEAD from now: a trial is weeks or months, and the preview must stay in range.
    trial_end = BoundedDateTimeField(required=False, allow_null=True, max_ahead=MAX_TRIAL_AHEAD)
    metadata = serializers.JSONField(required=False, allow_null=True)

    def validate_metadata(self, value):
        return validate_metadata(value) if value else {}

    def validate(self, data):
        if bool(data.get("customer_id")) == bool(data.get("external_customer_id")):
            raise serializers.ValidationError({"customer_id": "Exactly one of customer_id and external_customer_id is required."})
        return data


class SubscriptionUpdateInput(serializers.Serializer):
    """Polar's ``SubscriptionUpdate`` union, flattened: exactly one kind of change per request."""

    cancel_at_period_end = serializers.BooleanField(required=False)
    revoke = serializers.BooleanField(required=False)
    customer_cancellation_reason = serializers.ChoiceField(
        choices=CustomerCancellationReason.choices, required=False, allow_null=True
    )
    customer_cancellation_comment = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=5000)
    product_id = serializers.UUIDField(required=False)
    seats = SeatsField(required=False)
    units = SeatsField(required=False)
    proration_behavior = serializers.ChoiceField(choices=ProrationBehavior.choices, required=False)
    discount_id = serializers.UUIDField(required=False, allow_null=True)
    pending_update = serializers.JSONField(required=False, allow_null=True)

    KINDS = ("cancel_at_period_end", "revoke", "product_id", "seats", "units", "discount_id", "pending_update")

    def validate(self, data):
        kinds = [kind for kind in self.KINDS if kind in self.initial_data]
        if len(kinds) != 1:
            raise serializers.ValidationError({"non_field_errors": f"Send exactly one of: {', '.join(self.KINDS)}."})
        if kinds[0] == "revoke" and data.get("revoke") is not True:
            raise serializers.ValidationError({"revoke": "Input should be true."})
        if kinds[0] == "pending_update" and data.get("pending_update") is not None:
            raise serializers.ValidationError({"pending_update": "Input should be null."})
        data["kind"] = kinds[0]
        return data
