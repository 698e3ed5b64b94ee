"""Planning a renewal cycle: what the cycle at ``subscription.current_period_end`` bills, as a
``CyclePlan`` (the pricing input, the prorations it takes, whether the discount applies, the scheduled
change applied at the boundary). Reads only: nothing here locks or writes.

``cycle_plan`` is shared by the single cycle and the batch (``billing.renewals.cycle`` and
``billing.renewals.batch`` execute a plan) and by the ``/upcoming`` preview
(``billing.renewals.preview``). It reads through a ``CycleReads``: one subscription at a time here, a
whole batch from a few grouped queries in ``batch.BatchCycleReads``.

Lines of a cycle: fixed/seat/unit prices for the NEW period in advance, metered usage (per unit, or
through tiers: one line item per tier reached, less meter credits, capped) for the period that
CLOSED in arrears, late usage of earlier periods (``late_usage_lines``), unbilled prorations; the
discount while it lasts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from django.db import connection

from billing.models import (
    Order,
    OrderBillingReason,
    OrderItem,
    PendingSubscriptionUpdate,
    ProductPrice,
    Subscription,
    SubscriptionProration,
    SubscriptionStatus,
)
from billing.orders import services as order_services
from billing.pricing import (
    LineInput,
    Period,
    PriceVersion,
    PricingInput,
    next_period_end,
    price,
)
from billing.usage.selectors import meter_credit_carried_in, meter_credit_grants
from billing.usage.services import meter_quantity

# Late usage is looked for in the closed periods that ended within this window before the cycle
# (events older than the usage module's MAX_EVENT_AGE cannot be ingested, so nothing older changes).
LATE_USAGE_LOOKBACK = dt.timedelta(days=400)


@dataclasses.dataclass
class CyclePlan:
    """What a cycle at the boundary ``closed.end`` bills (also what ``/upcoming`` previews)."""

    closed: Period  # the period that just ended: its usage is billed in arrears
    next: Period | None  # the period billed in advance (None when the subscription ends)
    pricing_input: PricingInput
    prorations: list[SubscriptionProration]
    discount_applies: bool
    pending: PendingSubscriptionUpdate | None = None  # the scheduled change applied at the boundary


class CycleReads:
    """What a cycle reads, one subscription at a time. ``renewals_batch.BatchCycleReads`` answers the
    same questions for a whole batch from a few queries; ``cycle_plan`` works with either."""

    def pinned_prices(self, subscription: Subscription) -> tuple[list[ProductPrice], dict]:
        return _pinned_prices(subscription)

    def pending_update(self, subscription: Subscription, boundary: dt.datetime) -> PendingSubscriptionUpdate | None:
        return _pending_update(subscription, boundary)

    def tax_rate_bps(self, subscription: Subscription) -> int:
        return order_services.tax_rate_bps_for(organization=subscription.organization, customer=subscription.customer)

    def units(self, subscription: Subscription, meter, start: dt.datetime, end: dt.datetime) -> Decimal:
        return meter_quantity(meter=meter, customer=subscription.customer, start=start, end=end)

    def credit_grants(self, subscription: Subscription, meter_id) -> tuple[int, int]:
        """(units granted per period on the meter, of which roll over when unused)."""
        return meter_credit_grants(customer=subscription.customer, meter_id=meter_id)

    def credit_carried_in(self, subscription: Subscription, meter_id, period_start: dt.datetime) -> int:
        """Unused rollover credit carried into the period that starts at ``period_start``."""
        return meter_credit_carried_in(subscription_id=subscription.id, meter_id=meter_id, period_start=period_start)

    def late_usage_lines(self, subscription: Subscription, before: dt.datetime, tax_bps: int) -> list[LineInput]:
        return late_usage_lines(subscription=subscription, before=before, tax_bps=tax_bps)

    def prorations(self, subscription: Subscription) -> list[SubscriptionProration]:
        return list(
            SubscriptionProration.objects.filter(subscription=subscription, order__isnull=True).order_by("created_at", "id")
        )

    def discount_input(self, subscription: Subscription):
        return order_services.discount_input_for(subscription.discount, applied_cycles=subscription.discount_applied_cycles)


def _pinned_prices(subscription: Subscription) -> tuple[list[ProductPrice], dict]:
    rows = list(subscription.subscription_prices.select_related("product_price__meter").order_by("created_at", "id"))
    return [row.product_price for row in rows], {row.product_price_id: row.amount for row in rows if row.amount is not None}


def _usage_label(product_name: str, meter_name: str, period: Period) -> str:
    return f"{product_name} – {meter_name} usage ({period.start:%Y-%m-%d} – {period.end:%Y-%m-%d})"


def _metered_lines(
    *, subscription, prices, product_name, period: Period, usage_end: dt.datetime, tax_bps: int, reads: CycleReads
) -> list[LineInput]:
    """Usage of ``period`` (read up to ``usage_end``, the cutoff) for each pinned metered price."""
    lines = []
    for product_price in prices:
        if not product_price.is_metered:
            continue
        meter = product_price.meter
        # Meter credits: this period's grants plus unused rollover credit carried in from the last one.
        granted, rollover = reads.credit_grants(subscription, meter.id)
        carried = reads.credit_carried_in(subscription, meter.id, period.start)
        lines.append(
            LineInput(
                price=order_services.price_version_for(product_price),
                label=_usage_label(product_name, meter.name, period),
                units=reads.units(subscription, meter, period.start, usage_end),
                credited_units=Decimal(granted + carried),
                rollover_units=Decimal(rollover + carried) if rollover + carried else None,
                period=period,
                tax_rate_bps=tax_bps,
            )
        )
    return lines


def earlier_cycle_orders(subscription_ids, before: dt.datetime):
    """The cycle orders whose stored inputs say what usage was billed (late-usage lookback)."""
    return Order.objects.filter(
        subscription_id__in=list(subscription_ids),
        billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE,
        period_start__gte=before - LATE_USAGE_LOOKBACK,
    ).only("id", "subscription_id", "pricing_inputs", "period_start")


def late_usage_lines(*, subscription, before: dt.datetime, tax_bps: int, orders=None) -> list[LineInput]:
    """Usage that arrived after its period was billed, as new lines labelled with their own period.

    What was billed is read back from the stored inputs of this subscription's earlier orders: per
    (metered price version, period) the highest ``units`` seen, the credit used, and the amounts
    already billed (the cap applies to the period as a whole). A late line bills
    ``max(now − max(seen, credit), 0)`` units at the original price version, capped by what is left
    of the cap. Closed orders are never rewritten.

    A ``metered_tiers`` price is not linear, so its late usage is two lines at the original schedule:
    the period's whole usage now (one item per tier, capped), less what was billed for it (the same
    schedule on the units seen, as a ``credit``): the difference is what the later units cost where
    they fall in the tiers. A volume schedule whose late usage reaches a cheaper tier bills nothing
    (nothing billed is refunded).
    """
    if orders is None:  # the batch passes this subscription's orders, read for the whole batch at once
        orders = earlier_cycle_orders([subscription.id], before)
    billed: dict[tuple[str, str, str], dict] = {}
    for order in orders:
        data = order.pricing_inputs
        for line in data.get("lines") or ():
            if line["price"]["amount_type"] not in ("metered_unit", "metered_tiers") or line.get("period") is None:
                continue
            key = (line["price"]["price_id"], line["period"]["start"], line["period"]["end"])
            entry = billed.setdefault(
                key, {"price": line["price"], "seen": Decimal(0), "credit": Decimal(0), "order_ids": [], "label": line["label"]}
            )
            entry["seen"] = max(entry["seen"], Decimal(line.get("units") or 0))
            entry["credit"] = max(entry["credit"], Decimal(line.get("credited_units") or 0))
            entry["order_ids"].append(order.id)
            # The latest cycle that measured this period ran at or after its boundary.
            entry["measured_at"] = max(entry.get("measured_at", order.period_start), order.period_start)
    billed = {key: entry for key, entry in billed.items() if dt.datetime.fromisoformat(key[2]) <= before}
    if not billed or not _late_events_exist(subscription=subscription, billed=billed):
        return []
    amounts: dict[tuple[str, str, str], int] = {}
    items = OrderItem.objects.filter(order_id__in={oid for e in billed.values() for oid in e["order_ids"]})
    for item in items.values("product_price_id", "period_start", "period_end", "amount"):
        key = (str(item["product_price_id"]), item["period_start"], item["period_end"])
        amounts[key] = amounts.get(key, 0) + item["amount"]
    prices = {str(p.id): p for p in ProductPrice.objects.filter(pk__in=[k[0] for k in billed]).select_related("meter")}
    lines = []
    for (price_id, start_text, end_text), entry in sorted(billed.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        period = Period(dt.datetime.fromisoformat(start_text), dt.datetime.fromisoformat(end_text))
        if period.end > before:
            continue  # not closed yet (the current cycle bills it)
        product_price = prices.get(price_id)
        if product_price is None or product_price.meter is None:
            continue
        now_units = meter_quantity(meter=product_price.meter, customer=subscription.customer, start=period.start, end=period.end)
        if now_units <= entry["seen"]:
            continue
        version = PriceVersion.from_dict(entry["price"])
        label = f"Late usage: {product_price.meter.name} ({period.start:%Y-%m-%d} – {period.end:%Y-%m-%d})"
        if version.amount_type == "metered_tiers":
            lines += _late_tiered_lines(version, label=label, units=now_units, entry=entry, period=period, tax_bps=tax_bps)
            continue
        if version.cap_amount is not None:
            already = amounts.get((price_id, period.start, period.end), 0)
            remaining = max(version.cap_amount - already, 0)
            if remaining == 0:
                continue
            version = dataclasses.replace(version, cap_amount=remaining)
        lines.append(
            LineInput(
                price=version,
                label=label,
                units=now_units,
                credited_units=max(entry["seen"], entry["credit"]),
                period=period,
                tax_rate_bps=tax_bps,
            )
        )
    return lines


def _late_tiered_lines(version, *, label: str, units, entry: dict, period: Period, tax_bps: int) -> list[LineInput]:
    """The late usage of a ``metered_tiers`` period: the whole usage now as a charge, what was billed
    (the units seen, the same credit and schedule) as a credit; none when that nets to nothing or less."""
    common = {"price": version, "credited_units": entry["credit"], "period": period, "tax_rate_bps": tax_bps}
    lines = [
        LineInput(label=label, units=units, **common),
        LineInput(label=f"{label} – already billed", kind="credit", units=entry["seen"], **common),
    ]
    net = sum(item.amount for item in price(PricingInput(period=period, currency=version.currency, lines=tuple(lines))).lines)
    return lines if net > 0 else []


def _late_events_exist(*, subscription, billed: dict) -> bool:
    """Cheap pre-check before re-measuring closed periods: did any event of the customer with a
    timestamp in a billed period arrive (``ingested_at``) at or after the cycle that measured it?
    Conservative: a cycle runs at or after its boundary, so using the boundary can only report
    events that were in fact counted (the re-measure then finds no difference), never miss one."""
    customer = subscription.customer
    clauses, params = [], []
    for (_price_id, start, end), entry in billed.items():
        clauses.append('(e."timestamp" >= %s AND e."timestamp" < %s AND e.ingested_at >= %s)')
        params += [dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end), entry["measured_at"]]
    who = "e.customer_id = %s"
    who_params = [customer.id]
    if customer.external_id:
        who = "(e.customer_id = %s OR (e.customer_id IS NULL AND e.external_customer_id = %s))"
        who_params.append(customer.external_id)
    query = (
        f"SELECT EXISTS (SELECT 1 FROM billing_event e WHERE e.organization_id = %s AND {who} AND (" + " OR ".join(clauses) + "))"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [subscription.organization_id, *who_params, *params])
        return bool(cursor.fetchone()[0])


def _pending_update(subscription: Subscription, boundary: dt.datetime) -> PendingSubscriptionUpdate | None:
    return (
        PendingSubscriptionUpdate.objects.filter(
            subscription=subscription,
            applied_at__isnull=True,
            canceled_at__isnull=True,
            order__isnull=True,  # an ``invoice`` change being paid for is settled by the subscriptions service
            applies_at__lte=boundary,
        )
        .select_related("product")
        .prefetch_related("prices")
        .first()
    )


def cycle_plan(
    *, subscription: Subscription, usage_end: dt.datetime | None = None, preview: bool = False, reads: CycleReads | None = None
) -> CyclePlan:
    """Build the pricing input of the cycle at ``subscription.current_period_end``. Reads only.

    ``usage_end`` is the usage cutoff: the period end for a real cycle, "now" for a preview. The
    static lines use the prices pinned for the next period (a scheduled ``next_period`` change's
    prices when one is due at the boundary); usage of the closed period is priced with the prices
    that were pinned during it. No usage is billed for a trial period. A subscription set to cancel
    at the period end gets only its usage lines (and late usage), for the closed period.
    """
    reads = reads or CycleReads()
    closed = Period(subscription.current_period_start, subscription.current_period_end)
    usage_end = usage_end or closed.end
    tax_bps = reads.tax_rate_bps(subscription)
    old_prices, custom_amounts = reads.pinned_prices(subscription)
    product_name = subscription.product.name

    lines: list[LineInput] = []
    next_period = None
    pending = None
    if not subscription.cancel_at_period_end:
        next_period = Period(
            closed.end,
            next_period_end(
                closed.end,
                subscription.recurring_interval,
                subscription.recurring_interval_count,
                subscription.billing_anchor_day if subscription.recurring_interval in ("month", "year") else None,
            ),
        )
        pending = reads.pending_update(subscription, closed.end)
        new_prices, seats, units, new_name = old_prices, subscription.seats, subscription.units, product_name
        if pending is not None:
            new_prices = list(pending.prices.all()) or old_prices
            seats = pending.seats if pending.seats is not None else subscription.seats
            units = pending.units if pending.units is not None else subscription.units
            if pending.product_id is not None:
                new_name = pending.product.name
        for product_price in new_prices:
            if product_price.is_static:
                lines.append(
                    order_services.line_for(
                        product_price,
                        product_name=new_name,
                        tax_rate_bps=tax_bps,
                        seats=seats,
                        units=units,
                        custom_amount=custom_amounts.get(product_price.id),
                        period=next_period,
                    )
                )
    if subscription.status != SubscriptionStatus.TRIALING:
        lines += _metered_lines(
            subscription=subscription,
            prices=old_prices,
            product_name=product_name,
            period=closed,
            usage_end=usage_end,
            tax_bps=tax_bps,
            reads=reads,
        )
    lines += reads.late_usage_lines(subscription, closed.end, tax_bps)
    prorations = reads.prorations(subscription)
    lines += [LineInput.from_dict(p.line_input) for p in prorations]

    discount_input = reads.discount_input(subscription)
    discount_applies = bool(discount_input and discount_input.is_active())
    return CyclePlan(
        closed=closed,
        next=next_period,
        pricing_input=PricingInput(
            period=next_period or closed, currency=subscription.currency, lines=tuple(lines), discount=discount_input
        ),
        prorations=prorations,
        discount_applies=discount_applies,
        pending=pending,
    )
