"""Output shapes of subscriptions: what the API returns and webhooks carry, computed from loaded rows."""
from rest_framework import serializers

from billing.catalog.payloads import ProductOutput, ProductPriceOutput
from billing.discounts.payloads import DiscountOutput
from billing.models import (
    PendingSubscriptionUpdate,
    Subscription,
)
from customers.payloads import customer_output
from polar.api.formatting import dt, sid


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


