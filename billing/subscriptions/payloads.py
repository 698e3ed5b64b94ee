"""Output shapes of subscriptions: what the API returns and webhooks carry, computed from loaded rows."""

import uuid

from rest_framework import serializers

from billing.catalog.payloads import ProductOutput, ProductPriceOutput
from billing.catalog.price_versions import price_version_for
from billing.discounts.payloads import DiscountOutput
from billing.models import DunningCase, PendingSubscriptionUpdate, Subscription, SubscriptionStatus
from billing.orders.payloads import dunning_state_output, order_subscription_output
from billing.pricing import LineInput, Period, PricingInput, price
from billing.usage.meter_windows import meter_quantity_by_window
from billing.usage.payloads import meter_payload
from billing.usage.selectors import meter_credit_grants_by_customer
from customers.payloads import customer_output
from polar import clock
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


def _price_rows(subscription: Subscription):
    # subscription_list() prefetches them; a subscription loaded otherwise reads them here.
    if "subscription_prices" in getattr(subscription, "_prefetched_objects_cache", {}):
        return list(subscription.subscription_prices.all())
    return list(subscription.subscription_prices.select_related("product_price__meter"))


def _meter_output(meter) -> dict:
    data = meter_payload(meter)
    for name in ("created_at", "modified_at", "archived_at"):
        data[name] = dt(data[name])
    return data


def subscription_meters(subscriptions) -> dict:
    """Polar's ``SubscriptionMeter`` list of each subscription, by id: every metered price with the units
    consumed so far this period (``current_period_start`` to now), the units credited by the customer's
    meter-credit grants, and the amount the usage comes to so far (priced by the engine as the renewal
    prices it, before discount and tax; rollover credit carried in is not counted here).

    For a page of subscriptions: one query per meter (every subscription's window at once,
    ``meter_quantity_by_window``) and one for the credits, whatever the page size."""
    now = clock.now()
    entries = []  # (subscription, product price, window start, window end)
    for subscription in subscriptions:
        for row in _price_rows(subscription):
            product_price = row.product_price
            if product_price.meter_id is None or not product_price.is_metered:
                continue
            start = subscription.current_period_start
            end = max(start, min(now, subscription.current_period_end))
            entries.append((subscription, product_price, start, end))
    if not entries:
        return {subscription.id: [] for subscription in subscriptions}
    by_meter: dict = {}
    for index, (subscription, product_price, start, end) in enumerate(entries):
        by_meter.setdefault(product_price.meter_id, (product_price.meter, []))[1].append((index, subscription, start, end))
    consumed = [None] * len(entries)
    for meter, windows in by_meter.values():
        quantities = meter_quantity_by_window(meter=meter, windows=[(s.customer, start, end) for _i, s, start, end in windows])
        for (index, *_rest), quantity in zip(windows, quantities):
            consumed[index] = quantity
    credits = meter_credit_grants_by_customer(customer_ids=list({s.customer_id for s, *_rest in entries}))
    result = {subscription.id: [] for subscription in subscriptions}
    for index, (subscription, product_price, _start, _end) in enumerate(entries):
        credited, _rollover = credits.get((subscription.customer_id, product_price.meter_id), (0, 0))
        line = LineInput(price=price_version_for(product_price), label="", units=consumed[index], credited_units=credited)
        period = Period(subscription.current_period_start, subscription.current_period_end)
        priced = price(PricingInput(period=period, currency=product_price.price_currency, lines=[line]))
        result[subscription.id].append(
            {
                "created_at": dt(subscription.created_at),
                "modified_at": None,
                "id": str(uuid.uuid5(subscription.id, str(product_price.meter_id))),
                "consumed_units": float(consumed[index]),
                "credited_units": int(credited),
                "amount": sum(item.amount for item in priced.lines),
                "meter_id": str(product_price.meter_id),
                "meter": _meter_output(product_price.meter),
            }
        )
    return result


class SubscriptionListOutput(serializers.ListSerializer):
    """A page of subscriptions: their ``meters`` are computed for the whole page at once."""

    def to_representation(self, data):
        items = list(data.all() if hasattr(data, "all") else data)
        self.child.context["_subscription_meters"] = subscription_meters(items)
        return super().to_representation(items)


class SubscriptionOutput(serializers.BaseSerializer):
    class Meta:
        list_serializer_class = SubscriptionListOutput

    def to_representation(self, subscription: Subscription) -> dict:
        data = order_subscription_output(subscription)
        data["customer"] = customer_output(subscription.customer)
        # A page of subscriptions shares few products: render each product once per response.
        products = self.context.setdefault("_rendered_products", {})
        if subscription.product_id not in products:
            products[subscription.product_id] = ProductOutput(subscription.product).data
        data["product"] = products[subscription.product_id]
        data["discount"] = DiscountOutput(subscription.discount).data if subscription.discount_id else None
        rows = _price_rows(subscription)
        data["prices"] = ProductPriceOutput([row.product_price for row in rows], many=True).data
        page_meters = self.context.get("_subscription_meters") or {}
        if subscription.id in page_meters:
            data["meters"] = page_meters[subscription.id]
        else:
            data["meters"] = subscription_meters([subscription])[subscription.id]
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
