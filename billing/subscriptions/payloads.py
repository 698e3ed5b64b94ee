"""Output shapes of subscriptions: what the API returns and webhooks carry, computed from loaded rows."""

from rest_framework import serializers

from billing.catalog.payloads import ProductOutput, ProductPriceOutput
from billing.discounts.payloads import DiscountOutput
from billing.models import DunningCase, PendingSubscriptionUpdate, Subscription, SubscriptionStatus
from billing.orders.payloads import dunning_state_output, order_subscription_output
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
        "units": pending.units,
    }


class SubscriptionOutput(serializers.BaseSerializer):
    def to_representation(self, subscription: Subscription) -> dict:
        data = order_subscription_output(subscription)
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
        if subscription.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID):
            # Extra key (the SDKs ignore it): the recovery of its failed order (docs/billing.md, "Dunning").
            case = DunningCase.objects.filter(subscription_id=subscription.id).order_by("-started_at").first()
            data["dunning"] = dunning_state_output(case) if case is not None else None
        return data
