"""The upcoming renewal (``GET /v1/subscriptions/{id}/upcoming``): the order the next cycle would
write, priced now from the same ``cycle_plan`` as the cycle itself. A preview: no lock, no row written."""

from __future__ import annotations

import dataclasses

from billing.models import (
    Order,
    OrderBillingReason,
    OrderItem,
    Subscription,
)
from billing.orders import services as order_services
from billing.pricing import price
from billing.renewals.plan import cycle_plan
from polar import clock


@dataclasses.dataclass
class RenewalPreview:
    order: Order  # unsaved: the Order shape of the next renewal
    items: list[OrderItem]  # unsaved, in position order


def renewal_preview(*, subscription: Subscription) -> RenewalPreview | None:
    """The order the next renewal would write, priced now: static prices for the next period (a
    scheduled change included), usage of the current period **so far** (cutoff: now), late usage,
    prorations, discount and credit balance. Reads only: no lock, no row written. None for a
    subscription that will not renew (ended, incomplete, unpaid)."""
    if subscription.status not in Subscription.RENEWABLE_STATUSES:
        return None
    now = clock.now()
    plan = cycle_plan(subscription=subscription, usage_end=min(now, subscription.current_period_end))
    order, lines = order_services.order_build(
        organization=subscription.organization,
        customer=subscription.customer,
        billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE,
        pricing_input=plan.pricing_input,
        result=price(plan.pricing_input),
        product=plan.pending.product if plan.pending is not None and plan.pending.product_id else subscription.product,
        subscription=subscription,
        discount=subscription.discount if plan.discount_applies else None,
        seats=subscription.seats,
        applied_balance=subscription.credit_balance,
        period_start=plan.closed.end,
        description=f"Renewal of {subscription.product.name}",
    )
    order.invoice_number, order.invoice_sequence, order.created_at = "", 0, now  # not numbered: never written
    items = order_services.order_items_from_lines(order=order, lines=lines, created_at=now)
    return RenewalPreview(order=order, items=items)


def subscription_meter_amounts(*, subscription: Subscription) -> dict[str, int]:
    """The running amount of each metered price of the current period, by meter id (as a string): the
    usage so far priced exactly as the renewal will (per unit or through tiers, less meter credits,
    capped), before discount and tax. Polar's ``SubscriptionMeter.amount``. Reads only."""
    if subscription.status not in Subscription.RENEWABLE_STATUSES:
        return {}
    plan = cycle_plan(subscription=subscription, usage_end=min(clock.now(), subscription.current_period_end))
    meter_of = {str(p.id): str(p.meter_id) for p in subscription.prices.all() if p.is_metered}
    result = price(plan.pricing_input)
    amounts = dict.fromkeys(meter_of.values(), 0)
    for line in result.lines:
        # Only this period's usage: late usage and prorations of earlier periods are not running amounts.
        if line.price_id in meter_of and line.period_start == plan.closed.start:
            amounts[meter_of[line.price_id]] += line.amount
    return amounts
