"""Subscription shapes: Polar's ``Subscription`` (both SDKs' required keys), ``OrderSubscription``,
``PendingSubscriptionUpdate``, and the create/update/list inputs.

Outputs are hand-written dicts (the same data goes into webhook payloads). Optional keys that 0.32.0
types as non-nullable (``seats``, ``past_due_at``) are omitted rather than sent as null.
"""
from rest_framework import serializers

from billing.models import (
    CustomerCancellationReason,
    PendingSubscriptionUpdate,
    ProrationBehavior,
    Subscription,
    SubscriptionStatus,
)
from polar.api.fields import MAX_TRIAL_AHEAD, BoundedDateTimeField, SeatsField
from polar.api.metadata import validate_metadata

from billing.benefits.serializers import customer_output, dt, sid
from billing.discounts.serializers import DiscountOutput
from billing.catalog.serializers import ProductOutput, ProductPriceOutput


def pending_update_output(pending: PendingSubscriptionUpdate | None) -> dict | None:
    if pending is None:
        return None
    return {
        "id": str(pending.id),
        "created_at": dt(pending.created_at),
        "modified_at": dt(pending.modified_at),
        "applies_at": dt(pending.applies_at),
        "product_id": sid(pending.product_id),
        "seats": pending.seats,
        "units": None,
    }


def subscription_base_output(subscription: Subscription) -> dict:
    """The flat fields (Polar's ``OrderSubscription``)."""
    data = {
        "id": str(subscription.id),
        "created_at": dt(subscription.created_at),
        "modified_at": dt(subscription.modified_at),
        "metadata": subscription.metadata or {},
        "amount": subscription.amount,
        "currency": subscription.currency,
        "recurring_interval": subscription.recurring_interval,
        "recurring_interval_count": subscription.recurring_interval_count,
        "status": subscription.status,
        "current_period_start": dt(subscription.current_period_start),
        "current_period_end": dt(subscription.current_period_end),
        # Metered usage is billed per billing period (no separate meter cadence yet).
        "current_meter_period_start": dt(subscription.current_period_start),
        "current_meter_period_end": dt(subscription.current_period_end),
        "trial_start": dt(subscription.trial_start),
        "trial_end": dt(subscription.trial_end),
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "canceled_at": dt(subscription.canceled_at),
        "started_at": dt(subscription.started_at),
        "ends_at": dt(subscription.ends_at),
        "ended_at": dt(subscription.ended_at),
        "pause_at_period_end": False,
        "paused_at": None,
        "resumes_at": None,
        "customer_id": str(subscription.customer_id),
        "product_id": str(subscription.product_id),
        "discount_id": sid(subscription.discount_id),
        "checkout_id": sid(subscription.checkout_id),
        "units": None,
        "customer_cancellation_reason": subscription.customer_cancellation_reason,
        "customer_cancellation_comment": subscription.customer_cancellation_comment,
    }
    if subscription.seats is not None:
        data["seats"] = subscription.seats
    if subscription.past_due_at is not None:
        data["past_due_at"] = dt(subscription.past_due_at)
    return data


class SubscriptionOutput(serializers.BaseSerializer):
    def to_representation(self, subscription: Subscription) -> dict:
        data = subscription_base_output(subscription)
        data["customer"] = customer_output(subscription.customer)
        # A page of subscriptions shares few products: render each product once per response.
        products = self.context.setdefault("_rendered_products", {})
        if subscription.product_id not in products:
            products[subscription.product_id] = ProductOutput(subscription.product).data
        data["product"] = products[subscription.product_id]
        data["discount"] = DiscountOutput(subscription.discount).data if subscription.discount_id else None
        # subscription_list() prefetches both; a subscription loaded otherwise reads them here.
        if "subscription_prices" in getattr(subscription, "_prefetched_objects_cache", {}):
            rows = subscription.subscription_prices.all()
        else:
            rows = subscription.subscription_prices.select_related("product_price__meter")
        data["prices"] = ProductPriceOutput([row.product_price for row in rows], many=True).data
        data["meters"] = []
        if hasattr(subscription, "open_pending_updates"):
            open_updates = subscription.open_pending_updates
            pending = open_updates[0] if open_updates else None
        else:
            pending = subscription.pending_updates.filter(applied_at__isnull=True, canceled_at__isnull=True).first()
        data["pending_update"] = pending_update_output(pending)
        return data


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
    proration_behavior = serializers.ChoiceField(choices=ProrationBehavior.choices, required=False)
    discount_id = serializers.UUIDField(required=False, allow_null=True)
    pending_update = serializers.JSONField(required=False, allow_null=True)

    KINDS = ("cancel_at_period_end", "revoke", "product_id", "seats", "discount_id", "pending_update")

    def validate(self, data):
        kinds = [kind for kind in self.KINDS if kind in self.initial_data]
        if len(kinds) != 1:
            raise serializers.ValidationError(
                {"non_field_errors": f"Send exactly one of: {', '.join(self.KINDS)}."}
            )
        if kinds[0] == "revoke" and data.get("revoke") is not True:
            raise serializers.ValidationError({"revoke": "Input should be true."})
        if kinds[0] == "pending_update" and data.get("pending_update") is not None:
            raise serializers.ValidationError({"pending_update": "Input should be null."})
        data["kind"] = kinds[0]
        return data
