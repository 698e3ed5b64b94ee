"""The running amount of customer meters: what the usage shown so far comes to, priced as the renewal
will price it (per unit or through ``metered_tiers`` tiers, less the credited units, capped), before
discount and tax.

Polar's ``CustomerMeter`` has no amount: the two keys added here (``amount`` in minor units and its
``currency``) are extra, which every polar-sdk ignores. A meter that no active subscription of the
customer bills (the calendar-month view) has no price, so both are None.
"""

from __future__ import annotations

import uuid

from billing.catalog.price_versions import price_version_for
from billing.models import ProductPrice, Subscription
from billing.pricing import LineInput, Period, PricingInput, price


def _metered_prices_by_customer_meter(*, customer_ids, meter_ids) -> dict[tuple[uuid.UUID, uuid.UUID], list[ProductPrice]]:
    """Per (customer id, meter id): the metered prices on the meter of the customer's oldest active
    subscription that bills it (the subscription whose period the customer meter shows). Two queries."""
    rows = (
        Subscription.objects.filter(
            customer_id__in=list(customer_ids),
            status__in=Subscription.ACTIVE_STATUSES,
            subscription_prices__product_price__meter_id__in=list(meter_ids),
        )
        .order_by("created_at", "id")
        .values_list("id", "customer_id", "subscription_prices__product_price__meter_id", "subscription_prices__product_price_id")
    )
    chosen: dict[tuple[uuid.UUID, uuid.UUID], uuid.UUID] = {}
    price_ids: dict[tuple[uuid.UUID, uuid.UUID], list[uuid.UUID]] = {}
    for subscription_id, customer_id, meter_id, price_id in rows:
        key = (customer_id, meter_id)
        if chosen.setdefault(key, subscription_id) == subscription_id:
            price_ids.setdefault(key, []).append(price_id)
    prices = ProductPrice.objects.in_bulk([pk for ids in price_ids.values() for pk in ids])
    return {key: [prices[pk] for pk in ids if pk in prices and prices[pk].is_metered] for key, ids in price_ids.items()}


def customer_meter_amounts_attach(rows) -> None:
    """Set ``amount`` and ``currency`` on each customer-meter row (whose ``units`` are set): the consumed
    units of the row's period, less its credited units, priced by the engine with the metered prices
    of the subscription the period comes from. Two queries for any number of rows."""
    if not rows:
        return
    prices = _metered_prices_by_customer_meter(
        customer_ids={row.customer_id for row in rows}, meter_ids={row.meter_id for row in rows}
    )
    for row in rows:
        row.amount = row.currency = None
        metered = prices.get((row.customer_id, row.meter_id))
        if not metered:
            continue
        units = row.units
        currency = metered[0].price_currency
        # Each metered price on the meter is credited the same units, as the renewal's plan credits them.
        lines = [
            LineInput(price=price_version_for(product_price), label="", units=units.consumed, credited_units=units.credited)
            for product_price in metered
        ]
        priced = price(PricingInput(period=Period(units.period_start, units.period_end), currency=currency, lines=lines))
        row.amount, row.currency = sum(line.amount for line in priced.lines), currency
