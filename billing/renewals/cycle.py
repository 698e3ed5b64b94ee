"""The renewal cycle: claim due subscriptions, apply what was scheduled, advance the period, write the
``subscription_cycle`` order, then charge it.

Flow (see docs/billing.md, "Renewals"):

1. ``renewals_sweep`` (beat, every minute) claims subscriptions whose ``current_period_end <= now``
   with ``select_for_update(skip_locked=True)`` in ``current_period_end, id`` order, in batches, and
   enqueues one ``billing.tasks.subscription_cycle`` per row with ``transaction.on_commit``. Two
   sweeps never claim the same row at once; a row enqueued twice (two beats before the task ran) is
   harmless because the cycle itself is idempotent.
2. ``subscription_cycle(subscription_id=...)``: transaction 1 locks the subscription, re-checks that
   it is due, and in one transaction applies the scheduled changes (cancel at period end → ``canceled``
   with benefits revoked; a ``next_period`` plan change; trial end → ``active``), advances the period
   (anchor day kept, clamped), and writes the order (fixed/seat prices for the NEW period in advance,
   metered usage for the period that CLOSED in arrears, late usage of earlier periods, unbilled
   prorations, the discount while it lasts, the credit balance). Transaction 2 is the charge, made
   with no lock held, by ``order_charge`` with the key ``order:<id>:attempt:<n>``.
3. Exactly once: the period is advanced in the same transaction as the order insert, so a second
   delivery finds nothing due; the unique constraint (subscription, period_start, billing_reason) is
   the last line of defence, and its ``IntegrityError`` means "already done". A worker killed between
   the order and the charge leaves a ``pending`` order: the redelivered task finds it
   (``_charge_pending_cycle_orders``) and charges it with the same attempt key, so the processor
   returns the charge it may already have made instead of making a second one.

A failed charge moves the subscription to ``past_due`` and calls the hooks in
``RENEWAL_PAYMENT_FAILED_HOOKS`` (dunning appends its own there).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal

import structlog
from django.db import IntegrityError, transaction

from billing.models import (
    Order,
    OrderBillingReason,
    OrderItem,
    OrderStatus,
    Payment,
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
)
from polar import clock
from polar.webhooks.events import WebhookEventType

logger = structlog.get_logger(__name__)

SWEEP_BATCH_SIZE = 500
# Late usage is looked for in the closed periods that ended within this window before the cycle
# (events older than the usage module's MAX_EVENT_AGE cannot be ingested, so nothing older changes).
LATE_USAGE_LOOKBACK = dt.timedelta(days=400)

# Called as hook(subscription=..., order=..., payment=...) after a renewal charge failed and the
# subscription was moved to past_due, outside any transaction. Dunning (a later issue) appends here.
RENEWAL_PAYMENT_FAILED_HOOKS: list[Callable] = []


# --- the sweep -------------------------------------------------------------------------------------


def _due_queryset(now: dt.datetime):
    return Subscription.objects.filter(
        status__in=Subscription.RENEWABLE_STATUSES, current_period_end__lte=now
    ).order_by("current_period_end", "id")


def renewals_claim(*, now: dt.datetime | None = None, limit: int = SWEEP_BATCH_SIZE, exclude=()) -> list[uuid.UUID]:
    """Lock and return the ids of up to ``limit`` due subscriptions, skipping rows another sweep or a
    running cycle holds. Must run inside the caller's transaction (the locks last until it ends)."""
    now = now or clock.now()
    queryset = _due_queryset(now)
    if exclude:
        queryset = queryset.exclude(pk__in=list(exclude))
    return list(queryset.select_for_update(skip_locked=True, of=("self",)).values_list("id", flat=True)[:limit])


# A subscription enqueued by a sweep is not enqueued again by the next sweeps for this long (per
# period end), so a backlog longer than the beat interval does not pile duplicate tasks up in the
# queue. Only an optimisation: a duplicate task is a no-op, and a lost one is re-sent after it.
ENQUEUED_MARKER_TTL = 600


def _mark_enqueued(subscription_id, period_end: dt.datetime) -> bool:
    from django.core.cache import cache

    return cache.add(f"renewals:enqueued:{subscription_id}:{period_end.timestamp():.0f}", 1, timeout=ENQUEUED_MARKER_TTL)


def renewals_sweep(*, now: dt.datetime | None = None, batch_size: int = SWEEP_BATCH_SIZE, max_batches: int = 100) -> int:
    """Enqueue the due subscriptions' cycles; returns how many subscriptions were enqueued.

    Each batch is claimed in its own short transaction (``skip_locked``) and its tasks are sent on
    commit, so a task never starts before the claim is released and a rollback sends nothing. The
    claimed ids go out as ``billing.tasks.subscription_cycle_batch`` tasks of up to
    ``renewals_batch.BATCH_SIZE`` subscriptions each (see ``renewals_batch``). A row already enqueued
    for the same period end within ``ENQUEUED_MARKER_TTL`` is skipped (a Redis marker); should it be
    enqueued twice anyway, the cycle is idempotent.
    """
    from billing.renewals.batch import BATCH_SIZE
    from billing.tasks import subscription_cycle_batch as batch_task

    now = now or clock.now()
    seen: set[uuid.UUID] = set()
    enqueued = 0
    for _ in range(max_batches):
        with transaction.atomic():
            ids = renewals_claim(now=now, limit=batch_size, exclude=seen)
            ends = dict(Subscription.objects.filter(pk__in=ids).values_list("id", "current_period_end"))
            chosen = [str(sid) for sid in ids if _mark_enqueued(sid, ends[sid])]
            for start in range(0, len(chosen), BATCH_SIZE):
                chunk = chosen[start : start + BATCH_SIZE]
                # robust: a lost enqueue (broker down) is re-sent by a sweep once its marker expires.
                transaction.on_commit(lambda chunk=chunk: batch_task.delay(chunk), robust=True)
            enqueued += len(chosen)
        seen.update(ids)
        if len(ids) < batch_size:
            break
    if enqueued:
        logger.info("renewals.sweep", enqueued=enqueued, now=now.isoformat())
    return enqueued


# --- building the cycle's pricing input ------------------------------------------------------------


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
        from billing.usage.services import meter_quantity

        return meter_quantity(meter=meter, customer=subscription.customer, start=start, end=end)

    def credit_grants(self, subscription: Subscription, meter_id) -> tuple[int, int]:
        """(units granted per period on the meter, of which roll over when unused)."""
        from billing.usage.selectors import meter_credit_grants

        return meter_credit_grants(customer=subscription.customer, meter_id=meter_id)

    def credit_carried_in(self, subscription: Subscription, meter_id, period_start: dt.datetime) -> int:
        """Unused rollover credit carried into the period that starts at ``period_start``."""
        from billing.usage.selectors import meter_credit_carried_in

        return meter_credit_carried_in(subscription_id=subscription.id, meter_id=meter_id, period_start=period_start)

    def late_usage_lines(self, subscription: Subscription, before: dt.datetime, tax_bps: int) -> list[LineInput]:
        return _late_usage_lines(subscription=subscription, before=before, tax_bps=tax_bps)

    def prorations(self, subscription: Subscription) -> list[SubscriptionProration]:
        return list(SubscriptionProration.objects.filter(subscription=subscription, order__isnull=True).order_by("created_at", "id"))

    def discount_input(self, subscription: Subscription):
        return order_services.discount_input_for(subscription.discount, applied_cycles=subscription.discount_applied_cycles)


def _pinned_prices(subscription: Subscription) -> tuple[list[ProductPrice], dict]:
    rows = list(subscription.subscription_prices.select_related("product_price__meter").order_by("created_at", "id"))
    return [row.product_price for row in rows], {row.product_price_id: row.amount for row in rows if row.amount is not None}


def _usage_label(product_name: str, meter_name: str, period: Period) -> str:
    return f"{product_name} – {meter_name} usage ({period.start:%Y-%m-%d} – {period.end:%Y-%m-%d})"


def _metered_lines(*, subscription, prices, product_name, period: Period, usage_end: dt.datetime, tax_bps: int, reads: CycleReads) -> list[LineInput]:
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


def _earlier_cycle_orders(subscription_ids, before: dt.datetime):
    """The cycle orders whose stored inputs say what usage was billed (late-usage lookback)."""
    return Order.objects.filter(
        subscription_id__in=list(subscription_ids),
        billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE,
        period_start__gte=before - LATE_USAGE_LOOKBACK,
    ).only("id", "subscription_id", "pricing_inputs", "period_start")


def _late_usage_lines(*, subscription, before: dt.datetime, tax_bps: int, orders=None) -> list[LineInput]:
    """Usage that arrived after its period was billed, as new lines labelled with their own period.

    What was billed is read back from the stored inputs of this subscription's earlier orders: per
    (metered price version, period) the highest ``units`` seen, the credit used, and the amounts
    already billed (the cap applies to the period as a whole). A late line bills
    ``max(now − max(seen, credit), 0)`` units at the original price version, capped by what is left
    of the cap. Closed orders are never rewritten.
    """
    from billing.usage.services import meter_quantity

    if orders is None:  # the batch passes this subscription's orders, read for the whole batch at once
        orders = _earlier_cycle_orders([subscription.id], before)
    billed: dict[tuple[str, str, str], dict] = {}
    for order in orders:
        data = order.pricing_inputs
        for index, line in enumerate(data.get("lines") or ()):
            if line["price"]["amount_type"] != "metered_unit" or line.get("period") is None:
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
        if version.cap_amount is not None:
            already = amounts.get((price_id, period.start, period.end), 0)
            remaining = max(version.cap_amount - already, 0)
            if remaining == 0:
                continue
            version = dataclasses.replace(version, cap_amount=remaining)
        lines.append(
            LineInput(
                price=version,
                label=f"Late usage: {product_price.meter.name} ({period.start:%Y-%m-%d} – {period.end:%Y-%m-%d})",
                units=now_units,
                credited_units=max(entry["seen"], entry["credit"]),
                period=period,
                tax_rate_bps=tax_bps,
            )
        )
    return lines


def _late_events_exist(*, subscription, billed: dict) -> bool:
    """Cheap pre-check before re-measuring closed periods: did any event of the customer with a
    timestamp in a billed period arrive (``ingested_at``) at or after the cycle that measured it?
    Conservative: a cycle runs at or after its boundary, so using the boundary can only report
    events that were in fact counted (the re-measure then finds no difference), never miss one."""
    from django.db import connection

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
        f"SELECT EXISTS (SELECT 1 FROM billing_event e WHERE e.organization_id = %s AND {who} AND ("
        + " OR ".join(clauses)
        + "))"
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
        .select_related("product").prefetch_related("prices")
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
        new_prices, seats, new_name = old_prices, subscription.seats, product_name
        if pending is not None:
            new_prices = list(pending.prices.all()) or old_prices
            seats = pending.seats if pending.seats is not None else subscription.seats
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


# --- the cycle ----------------------------------------------------------------------------------------


def _emit_subscription(subscription: Subscription, *events) -> None:
    from billing.subscriptions.services import _emit

    _emit(subscription, *events)


def _price_and_take_credit(subscription: Subscription, plan: CyclePlan):
    """Price the cycle and move the subscription's balances (in memory, on the locked row): the credit
    balance pays what it can of the total (``applied``) and takes any net credit back; a discount that
    applies uses one of its cycles. Returns ``(result, applied)``; ``(None, 0)`` when nothing is billed."""
    from billing.pricing import price

    if not plan.pricing_input.lines:
        return None, 0
    result = price(plan.pricing_input)
    applied = min(subscription.credit_balance, max(result.total_amount, 0))
    subscription.credit_balance = subscription.credit_balance - applied + result.credit_carried
    if plan.discount_applies:
        subscription.discount_applied_cycles += 1
    return result, applied


def _cycle_locked(locked: Subscription, *, now: dt.datetime, reads: CycleReads | None = None) -> Order | None:
    """The cycle of a locked, due subscription (transaction 1). Returns the order written, if any.

    The subscription is changed first and the order inserted last: ``order_create`` locks the
    organization's invoice counter, which serialises every renewal of the organization until
    commit, so that section is kept as short as possible. If the insert hits the unique constraint
    (an order for this boundary exists: the renewal was already done), only the insert is rolled
    back (savepoint); the period advance stands, which is what the existing order billed, and the
    credit balance and discount cycles are put back as they were.
    """
    from billing.subscriptions.services import (
        subscription_apply_pending_update,
        subscription_end,
    )

    plan = cycle_plan(subscription=locked, reads=reads)
    boundary = plan.closed.end
    was_trialing = locked.status == SubscriptionStatus.TRIALING
    before = (locked.credit_balance, locked.discount_applied_cycles)
    next_product = plan.pending.product if plan.pending is not None and plan.pending.product_id else locked.product
    discount = locked.discount if plan.discount_applies else None

    _result, applied = _price_and_take_credit(locked, plan)

    if plan.next is None:
        # cancel at period end: the subscription ends at the boundary, then its final usage order.
        locked.save(update_fields=["credit_balance", "discount_applied_cycles"])
        subscription_end(subscription=locked)
    else:
        if plan.pending is not None:
            # Pins the scheduled prices/seats/product and marks the update applied (subscriptions service).
            subscription_apply_pending_update(subscription=locked, at=boundary)
        events = [WebhookEventType.SUBSCRIPTION_UPDATED]
        if was_trialing:
            locked.status = SubscriptionStatus.ACTIVE
            events.append(WebhookEventType.SUBSCRIPTION_ACTIVE)
        locked.current_period_start = plan.next.start
        locked.current_period_end = plan.next.end
        locked.modified_at = now
        locked.save()
        _emit_subscription(locked, *events)

    if not plan.pricing_input.lines:
        return None
    try:
        with transaction.atomic():
            order = order_services.order_create(
                organization=locked.organization,
                customer=locked.customer,
                billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE,
                pricing_input=plan.pricing_input,
                product=next_product,
                subscription=locked,
                discount=discount,
                seats=locked.seats,
                applied_balance=applied,
                period_start=boundary,
                description=f"Renewal of {locked.product.name}" if plan.next else f"Final usage of {locked.product.name}",
            )
            if plan.prorations:
                SubscriptionProration.objects.filter(pk__in=[p.pk for p in plan.prorations]).update(order=order)
    except IntegrityError:
        logger.warning("renewals.already_done", subscription_id=str(locked.id), boundary=boundary.isoformat())
        locked.credit_balance, locked.discount_applied_cycles = before
        locked.save(update_fields=["credit_balance", "discount_applied_cycles"])
        return None
    return order


def subscription_cycle_advance(*, subscription_id) -> Order | None:
    """Transaction 1 of a renewal: lock the subscription and, if it is due, run one cycle.

    Locks the subscription row (``select_for_update``, waiting for a concurrent cycle to finish).
    Idempotent: a subscription that is not due (already advanced, ended, not renewable) is left as
    it is and None is returned; a duplicate order raises nothing (``IntegrityError`` = already done).
    Emits ``subscription.updated`` (+ ``.active`` at trial end, ``.revoked`` at a scheduled end) and
    ``order.created`` (+ ``order.paid`` when nothing is due).
    """
    now = clock.now()
    with transaction.atomic():
        locked = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("organization", "customer", "product", "discount")
            .filter(pk=subscription_id)
            .first()
        )
        if locked is None or locked.status not in Subscription.RENEWABLE_STATUSES or locked.current_period_end > now:
            return None
        return _cycle_locked(locked, now=now)


def _payment_method_for(subscription: Subscription):
    from billing.payments.selectors import payment_method_default

    method = subscription.payment_method
    if method is not None and method.deleted_at is None:
        return method
    return payment_method_default(customer=subscription.customer)


def _mark_past_due(subscription: Subscription, *, order: Order, payment: Payment | None) -> None:
    """A renewal charge failed: ``active``/``trialing`` → ``past_due`` (locked), then the dunning hooks."""
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
            now = clock.now()
            locked.status = SubscriptionStatus.PAST_DUE
            locked.past_due_at = now
            locked.modified_at = now
            locked.save(update_fields=["status", "past_due_at", "modified_at"])
            _emit_subscription(locked, WebhookEventType.SUBSCRIPTION_UPDATED)
    for hook in RENEWAL_PAYMENT_FAILED_HOOKS:
        hook(subscription=subscription, order=order, payment=payment)


def _recover_if_settled(subscription: Subscription) -> bool:
    """``past_due`` → ``active`` once no cycle order of the subscription is left unpaid. True if it did."""
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.status != SubscriptionStatus.PAST_DUE:
            return False
        if Order.objects.filter(subscription=locked, status=OrderStatus.PENDING).exists():
            return False
        locked.status = SubscriptionStatus.ACTIVE
        locked.past_due_at = None
        locked.modified_at = clock.now()
        locked.save(update_fields=["status", "past_due_at", "modified_at"])
        _emit_subscription(locked, WebhookEventType.SUBSCRIPTION_UPDATED, WebhookEventType.SUBSCRIPTION_ACTIVE)
    return True


def subscription_recover_if_settled(*, subscription: Subscription) -> bool:
    """``past_due`` → ``active`` when nothing of the subscription is left unpaid (locks it; idempotent).
    The renewal charge does it at once; the fulfilment sweep does it when that step failed."""
    return _recover_if_settled(subscription)


def renewal_order_charge(*, order: Order) -> Payment | None:
    """Transaction 2 of a renewal: charge a pending cycle order (no transaction may be open).

    Uses ``order_charge`` (key ``order:<id>:attempt:<n>``, reused while a charge is pending or has
    succeeded, so a retry finds the charge already made). Only the *first* attempt is made here:
    an order whose attempt already failed belongs to dunning and is left alone. A decline, or no
    payment method, moves the subscription to ``past_due``.
    """
    order.refresh_from_db()
    if order.status != OrderStatus.PENDING:
        return None
    if Payment.objects.filter(order_id=order.id, status=Payment.Status.FAILED).exists():
        return None
    subscription = Subscription.objects.select_related("customer", "payment_method").get(pk=order.subscription_id)
    method = _payment_method_for(subscription)
    if method is None:
        _mark_past_due(subscription, order=order, payment=None)
        return None
    payment = order_services.order_charge(order=order, payment_method=method)
    if payment is not None and payment.status == Payment.Status.SUCCEEDED:
        if subscription.status == SubscriptionStatus.PAST_DUE:
            try:
                _recover_if_settled(subscription)
            except Exception:  # charged: the fulfilment sweep brings it back to active
                logger.exception("renewals.recover_deferred", subscription_id=str(subscription.id))
    elif payment is not None and payment.status == Payment.Status.FAILED:
        _mark_past_due(subscription, order=order, payment=payment)
    return payment


def _charge_pending_cycle_orders(subscription_id) -> None:
    """Charge cycle orders a crashed earlier run left pending with no failed attempt."""
    pending = Order.objects.filter(
        subscription_id=subscription_id, billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE, status=OrderStatus.PENDING
    ).order_by("period_start")
    for order in pending:
        renewal_order_charge(order=order)


def subscription_cycle(*, subscription_id) -> Order | None:
    """Renew one subscription if it is due, then charge its unpaid cycle orders. Safe to run twice.

    Transaction 1 (``subscription_cycle_advance``) writes at most one order per period boundary; the
    charge runs after it commits, outside any lock. Returns the order this call wrote (None if none).
    """
    order = subscription_cycle_advance(subscription_id=subscription_id)
    _crash_point("after_order")
    _charge_pending_cycle_orders(subscription_id)
    return order


def _crash_point(name: str) -> None:
    """Fault injection for the killed-worker test: ``RENEWALS_CRASH_POINT=<name>:<marker file>`` makes the
    process sleep here (after creating the marker) so the test can SIGKILL it at a known point."""
    import os

    spec = os.environ.get("RENEWALS_CRASH_POINT")
    if not spec or not spec.startswith(name + ":"):
        return
    import pathlib
    import time

    pathlib.Path(spec.split(":", 1)[1]).write_text(str(os.getpid()))
    time.sleep(600)


# --- run_billing: everything time-driven, synchronously ----------------------------------------------


def renewals_run_due(*, now: dt.datetime | None = None, batch_size: int = SWEEP_BATCH_SIZE) -> dict:
    """Renew, in this process, every subscription due at ``now`` until none is (a subscription three
    periods behind gets three cycles), in batches as the workers do (``renewals_batch``). A
    subscription whose cycle raises is reported and skipped for the rest of the run. Returns
    ``{"cycles": n, "orders": n, "unsettled": n, "errors": [...]}``."""
    from billing.renewals.batch import BATCH_SIZE, subscription_cycles_run

    now = now or clock.now()
    cycles = orders = unsettled = 0
    failed: dict[uuid.UUID, str] = {}
    while True:
        with transaction.atomic():
            ids = renewals_claim(now=now, limit=batch_size, exclude=failed.keys())
        if not ids:
            break
        for start in range(0, len(ids), BATCH_SIZE):
            result = subscription_cycles_run(subscription_ids=ids[start : start + BATCH_SIZE])
            failed.update(result.errors)
            cycles += result.processed - len(result.errors)
            orders += len(result.orders)
            unsettled += len(result.unsettled)
    # ``unsettled``: charges the processor did not answer; the reconcile_payments step (and the next
    # runs) settle them through the same key.
    return {"cycles": cycles, "orders": orders, "unsettled": unsettled, "errors": [f"{k}: {v}" for k, v in failed.items()]}


# --- usage that arrives after a subscription ended --------------------------------------------------


def late_usage_after_end(*, now: dt.datetime | None = None, limit: int = 1000) -> dict:
    """Bill usage that arrived after its subscription ended (a subscription has no next cycle order
    to carry it). For every subscription ``canceled`` within ``LATE_USAGE_LOOKBACK`` before ``now``
    with a metered price, the late-usage rule of the cycles applies as of its ``ended_at``: closed
    periods whose usage grew since they were billed get a ``Late usage`` line each, on a
    ``subscription_cycle`` order cut at ``now`` (``period_start = now``; no discount, no fixed price),
    charged like a renewal. Nothing billed is ever rewritten, and the next run finds the new
    ``units`` stored on this order, so running it again (same ``now`` or later) bills nothing twice.

    Each subscription is locked (``FOR UPDATE SKIP LOCKED``) while its order is written. Returns
    ``{"checked": n, "orders": n}``."""
    from billing.models import SubscriptionPrice

    now = now or clock.now()
    ids = list(
        Subscription.objects.filter(
            status=SubscriptionStatus.CANCELED,
            ended_at__gte=now - LATE_USAGE_LOOKBACK,
            ended_at__lt=now,
            pk__in=SubscriptionPrice.objects.filter(product_price__amount_type=ProductPrice.AmountType.METERED_UNIT).values(
                "subscription_id"
            ),
        )
        .order_by("ended_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    written = []
    for subscription_id in ids:
        with transaction.atomic():
            locked = (
                Subscription.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("organization", "customer", "product")
                .filter(pk=subscription_id, status=SubscriptionStatus.CANCELED)
                .first()
            )
            if locked is None or locked.ended_at is None or locked.ended_at >= now:
                continue
            tax_bps = order_services.tax_rate_bps_for(organization=locked.organization, customer=locked.customer)
            lines = _late_usage_lines(subscription=locked, before=locked.ended_at, tax_bps=tax_bps)
            if not lines:
                continue
            pricing_input = PricingInput(period=Period(locked.ended_at, now), currency=locked.currency, lines=tuple(lines), discount=None)
            try:
                with transaction.atomic():
                    order = order_services.order_create(
                        organization=locked.organization,
                        customer=locked.customer,
                        billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE,
                        pricing_input=pricing_input,
                        product=locked.product,
                        subscription=locked,
                        period_start=now,
                        description=f"Late usage of {locked.product.name} (ended {locked.ended_at:%Y-%m-%d})",
                    )
            except IntegrityError:  # an order was cut for this subscription at this very instant
                continue
        written.append(order)
    # Charge what is pending: the orders just written, and any a crash left uncharged after its commit
    # (renewal_order_charge leaves alone an order whose attempt failed: that is dunning's).
    pending = Order.objects.filter(
        subscription_id__in=ids, billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE, status=OrderStatus.PENDING
    ).order_by("created_at")
    for order in pending:
        renewal_order_charge(order=order)
    if written:
        logger.info("renewals.late_usage_after_end", orders=len(written), now=now.isoformat())
    return {"checked": len(ids), "orders": len(written)}


def _step_late_usage_after_end(*, now):
    return late_usage_after_end(now=now)


def _step_renewals(*, now):
    return renewals_run_due(now=now)


def renewal_orders_settle(*, limit: int = 500) -> int:
    """Mark paid the cycle orders still ``pending`` whose charge succeeded after all (a timeout whose
    payment was reconciled later by ``payments_reconcile_pending``), and bring their ``past_due``
    subscription back to ``active`` when nothing else is unpaid. Idempotent. Returns how many."""
    orders = list(
        Order.objects.filter(
            billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE, status=OrderStatus.PENDING, payments__status=Payment.Status.SUCCEEDED
        )
        .select_related("subscription")
        .distinct()
        .order_by("created_at")[:limit]
    )
    for order in orders:
        order_services.order_mark_paid(order=order)
        if order.subscription.status == SubscriptionStatus.PAST_DUE:
            _recover_if_settled(order.subscription)
    return len(orders)


def payments_reconcile_and_settle(*, now: dt.datetime) -> dict:
    """Settle payments left pending for more than 5 minutes, then the cycle orders they paid
    (the beat's ``payments_reconcile`` and run_billing's ``reconcile_payments`` step)."""
    from billing.payments.services import payments_reconcile_pending

    counts = payments_reconcile_pending(created_before=now - dt.timedelta(minutes=5))
    counts["orders_paid"] = renewal_orders_settle()
    return counts


def _step_reconcile_payments(*, now):
    return payments_reconcile_and_settle(now=now)


def _step_fulfilment(*, now):
    from billing.fulfilment.services import fulfilment_sweep

    return fulfilment_sweep(now=now)


# The time-driven steps ``run_billing`` runs, in order: (name, callable(now=...) -> summary).
# Later issues append theirs (dunning retries, payouts) with ``TIME_DRIVEN_STEPS.append(...)``.
TIME_DRIVEN_STEPS: list[tuple[str, Callable]] = [
    ("renewals", _step_renewals),
    ("late_usage_after_end", _step_late_usage_after_end),
    ("reconcile_payments", _step_reconcile_payments),
    # After reconcile: a charge it found succeeded is then fulfilled (docs/fulfilment.md).
    ("fulfilment", _step_fulfilment),
]


def billing_run(*, now: dt.datetime) -> dict:
    """Run every time-driven step as of ``now`` (the clock frozen there). Idempotent for a given ``now``."""
    summary = {}
    with clock.freeze(now):
        for name, step in TIME_DRIVEN_STEPS:
            summary[name] = step(now=now)
    return summary


# --- the upcoming renewal (a preview; writes nothing) ---------------------------------------------------


@dataclasses.dataclass
class RenewalPreview:
    order: Order  # unsaved: the Order shape of the next renewal
    items: list[OrderItem]  # unsaved, in position order


def renewal_preview(*, subscription: Subscription) -> RenewalPreview | None:
    """The order the next renewal would write, priced now: static prices for the next period (a
    scheduled change included), usage of the current period **so far** (cutoff: now), late usage,
    prorations, discount and credit balance. Reads only: no lock, no row written. None for a
    subscription that will not renew (ended, incomplete, unpaid)."""
    from billing.pricing import price

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
