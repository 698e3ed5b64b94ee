"""Renewals in batches: the same cycle as ``cycle.subscription_cycle``, for up to ``BATCH_SIZE``
subscriptions at a time, in a constant number of statements per batch instead of ~80 per renewal.

The sweep enqueues one ``billing.tasks.subscription_cycle_batch`` task per claimed batch. A batch:

1. **Advance** (one transaction): lock the batch's due subscriptions (``select_for_update``, in id
   order so two batches never deadlock), read what every cycle needs in a few grouped queries
   (``BatchCycleReads``: pinned prices, open scheduled changes, unbilled prorations, tax rates, meter
   credits, the meters' usage per customer, earlier cycle orders for late usage), build each
   subscription's ``CyclePlan`` with the same ``plan.cycle_plan`` as a single cycle, then write
   the advanced periods (one UPDATE), the orders (invoice numbers allocated per organization under
   the counter lock, one INSERT for the orders and one for their items), their audit entries (one
   INSERT) and their webhook events (one INSERT, one fan-out task). A subscription with a scheduled
   change (cancel at period end, plan change) or an order already written for its boundary goes
   through ``cycle.cycle_execute_locked`` inside the same transaction, exactly as a single cycle.
2. **Charge** (no transaction open): the batch's pending cycle orders with no payment yet are
   charged together (``payments_charge_many``: one INSERT of pending payments, the processor's
   ``charge_many``, one recorded outcome), then the paid ones marked paid in one transaction. An
   order that already has a payment (a redelivered task after a crash, a retry) goes through
   ``cycle.renewal_order_charge``, which reuses the key of the charge it may have made.

Exactly once holds as for a single cycle: the period advance and the order insert commit together
under the subscription lock, the unique constraint (subscription, period_start, billing_reason)
stands behind them, and charges use the key ``order:<id>:attempt:1``. If anything in the batch
raises, the batch's work is rolled back and every subscription of the batch is renewed one at a
time (``cycle.subscription_cycle``), so one bad subscription never holds back the others.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import uuid
from collections import defaultdict
from decimal import Decimal

import structlog
from django.db import transaction
from django.db.models import prefetch_related_objects

from billing import metrics as billing_metrics
from billing.models import (
    Order,
    OrderBillingReason,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentMethod,
    PendingSubscriptionUpdate,
    Subscription,
    SubscriptionPrice,
    SubscriptionProration,
    SubscriptionStatus,
)
from billing.orders import services as order_services
from billing.orders.payloads import OrderOutput
from billing.payments.services import ChargeRequest, PaymentError, payments_charge_many
from billing.renewals.cycle import (
    charge_pending_cycle_orders,
    checkpoint,
    cycle_execute_locked,
    cycle_price_and_take_credit,
    renewal_order_charge,
    subscription_cycle,
    subscription_mark_past_due,
)
from billing.renewals.plan import LATE_USAGE_LOOKBACK, CycleReads, cycle_plan, earlier_cycle_orders, late_usage_lines
from billing.subscriptions.payloads import SubscriptionOutput
from billing.subscriptions.services import subscription_recover_if_settled
from billing.usage.selectors import (
    meter_credit_carried_in,
    meter_credit_grants_by_customer,
    meter_quantity_by_customer,
)
from polar import clock
from polar.audit import audit_log_many
from polar.db import bulk_update_rows, values_insert
from polar.webhooks.events import WebhookEventType
from polar.webhooks.services import webhook_events_emit

logger = structlog.get_logger(__name__)

BATCH_SIZE = 100

_SUBSCRIPTION_FIELDS = [
    "status",
    "current_period_start",
    "current_period_end",
    "modified_at",
    "credit_balance",
    "discount_applied_cycles",
]


class BatchCycleReads(CycleReads):
    """``CycleReads`` for a batch of locked subscriptions, answered from grouped queries made once."""

    def __init__(self, subscriptions: list[Subscription]):
        ids = [s.id for s in subscriptions]
        self._pinned: dict[uuid.UUID, list[SubscriptionPrice]] = defaultdict(list)
        for row in (
            SubscriptionPrice.objects.filter(subscription_id__in=ids)
            .select_related("product_price__meter")
            .order_by("created_at", "id")
        ):
            self._pinned[row.subscription_id].append(row)
        self.open_pending: set[uuid.UUID] = set(
            PendingSubscriptionUpdate.objects.filter(
                subscription_id__in=ids, applied_at__isnull=True, canceled_at__isnull=True
            ).values_list("subscription_id", flat=True)
        )
        self._with_prorations = set(
            SubscriptionProration.objects.filter(subscription_id__in=ids, order__isnull=True).values_list(
                "subscription_id", flat=True
            )
        )
        self._tax = order_services.tax_rates_for(organization_ids={s.organization_id for s in subscriptions})
        self._credits = meter_credit_grants_by_customer(customer_ids={s.customer_id for s in subscriptions})
        # Usage of the closed period, per (meter, period): one grouped query over the batch's customers.
        self._units: dict[tuple, Decimal] = {}
        groups: dict[tuple, list] = defaultdict(list)
        meters = {}
        for s in subscriptions:
            if s.status == SubscriptionStatus.TRIALING:
                continue
            for row in self._pinned[s.id]:
                meter = row.product_price.meter
                if row.product_price.is_metered and meter is not None:
                    meters[meter.id] = meter
                    groups[(meter.id, s.current_period_start, s.current_period_end)].append(s.customer)
        for (meter_id, start, end), customers in groups.items():
            found = meter_quantity_by_customer(meter=meters[meter_id], customers=customers, start=start, end=end)
            for customer in customers:
                self._units[(meter_id, customer.id, start, end)] = found.get(customer.id, Decimal(0))
        # Earlier cycle orders (what was billed), for the late-usage check.
        self._earlier: dict[uuid.UUID, list[Order]] = defaultdict(list)
        self._earlier_since = dt.datetime.max.replace(tzinfo=dt.UTC)
        if subscriptions:
            earliest = min(s.current_period_end for s in subscriptions)
            self._earlier_since = earliest - LATE_USAGE_LOOKBACK
            for order in earlier_cycle_orders(ids, earliest):
                self._earlier[order.subscription_id].append(order)
        discounts = [s.discount for s in subscriptions if s.discount_id]
        if discounts:
            prefetch_related_objects(discounts, "amounts")

    def pinned_prices(self, subscription):
        rows = self._pinned[subscription.id]
        return [row.product_price for row in rows], {row.product_price_id: row.amount for row in rows if row.amount is not None}

    def pinned_rows(self, subscription) -> list[SubscriptionPrice]:
        return self._pinned[subscription.id]

    def pending_update(self, subscription, boundary):
        if subscription.id not in self.open_pending:
            return None
        return super().pending_update(subscription, boundary)

    def tax_rate_bps(self, subscription):
        return order_services.tax_rate_bps_for(
            organization=subscription.organization, customer=subscription.customer, rates=self._tax
        )

    def units(self, subscription, meter, start, end):
        key = (meter.id, subscription.customer_id, start, end)
        if key in self._units:
            return self._units[key]
        return super().units(subscription, meter, start, end)

    def credit_grants(self, subscription, meter_id):
        return self._credits.get((subscription.customer_id, meter_id), (0, 0))

    def credit_carried_in(self, subscription, meter_id, period_start):
        if period_start < self._earlier_since:  # older than what was read for the batch (multi-year periods)
            return super().credit_carried_in(subscription, meter_id, period_start)
        previous = [o for o in self._earlier[subscription.id] if o.period_start == period_start]
        if not previous:
            return 0
        price_meters = {str(row.product_price_id): row.product_price.meter_id for row in self._pinned[subscription.id]}
        return meter_credit_carried_in(
            subscription_id=subscription.id,
            meter_id=meter_id,
            period_start=period_start,
            order=previous[0],
            price_meters=price_meters,
        )

    def late_usage_lines(self, subscription, before, tax_bps):
        # The orders the single path reads (``earlier_cycle_orders``), from those read for the batch.
        since = before - LATE_USAGE_LOOKBACK
        orders = [o for o in self._earlier[subscription.id] if o.period_start >= since]
        return late_usage_lines(subscription=subscription, before=before, tax_bps=tax_bps, orders=orders)

    def prorations(self, subscription):
        if subscription.id not in self._with_prorations:
            return []
        return super().prorations(subscription)


@dataclasses.dataclass
class BatchResult:
    orders: list[uuid.UUID] = dataclasses.field(default_factory=list)  # orders written by this run
    processed: int = 0  # subscriptions looked at (due or not)
    errors: dict[uuid.UUID, str] = dataclasses.field(default_factory=dict)  # subscription id -> error
    # Charges the processor did not answer (timeouts): the payment stays pending; the task retries
    # these subscriptions one by one later (``subscription_cycle`` reconciles through the same key),
    # and the ``reconcile_payments`` step settles them too.
    unsettled: list[uuid.UUID] = dataclasses.field(default_factory=list)


def subscription_cycles_run(*, subscription_ids) -> BatchResult:
    """Renew every due subscription of ``subscription_ids`` and charge their unpaid cycle orders.
    Safe to run twice (a second run finds nothing due and the charges made). Call it with no
    transaction open."""
    ids = list(dict.fromkeys(uuid.UUID(str(value)) for value in subscription_ids))
    result = BatchResult(processed=len(ids))
    try:
        written = _advance(ids)
        result.orders = [order.id for order in written]
    except Exception:  # the batch is rolled back: renew one at a time, each in its own transactions
        logger.exception("renewals.batch_failed", subscriptions=len(ids))
        return _one_by_one(ids)
    checkpoint("after_order")
    try:
        result.unsettled = _charge(ids, written={order.id: order for order in written})
    except Exception:
        logger.exception("renewals.batch_charge_failed", subscriptions=len(ids))
        for subscription_id in ids:
            try:
                charge_pending_cycle_orders(subscription_id)
            except Exception as exc:
                logger.exception("renewals.charge_failed", subscription_id=str(subscription_id))
                result.errors[subscription_id] = f"{type(exc).__name__}: {exc}"
    return result


def _one_by_one(ids) -> BatchResult:
    result = BatchResult(processed=len(ids))
    for subscription_id in ids:
        try:
            order = subscription_cycle(subscription_id=subscription_id)
        except Exception as exc:  # reported (run_billing prints it; the next sweep tries again)
            logger.exception("renewals.cycle_failed", subscription_id=str(subscription_id))
            result.errors[subscription_id] = f"{type(exc).__name__}: {exc}"
            continue
        if order is not None:
            result.orders.append(order.id)
    return result


# --- 1. advance --------------------------------------------------------------------------------------


def _advance(ids) -> list[Order]:
    now = clock.now()
    with transaction.atomic():
        subscriptions = list(
            Subscription.objects.select_for_update(of=("self",))
            .select_related("organization", "customer", "product", "discount")
            .filter(pk__in=ids, status__in=Subscription.RENEWABLE_STATUSES, current_period_end__lte=now)
            .order_by("id")
        )
        if not subscriptions:
            return []
        reads = BatchCycleReads(subscriptions)
        done = set(
            Order.objects.filter(
                subscription_id__in=[s.id for s in subscriptions],
                billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE,
                period_start__in={s.current_period_end for s in subscriptions},
            ).values_list("subscription_id", "period_start")
        )
        bulk, single = [], []
        for s in subscriptions:
            special = s.cancel_at_period_end or s.id in reads.open_pending or (s.id, s.current_period_end) in done
            (single if special else bulk).append(s)
        organizations = {s.organization_id for s in subscriptions}
        if single and len(organizations) > 1:
            # Orders of several organizations, some numbered one by one below: every counter is taken
            # first, in one order, so no two batches deadlock on them (rare: scheduled changes).
            order_services.lock_invoice_counters(organizations)
        written = []
        for s in single:  # the rare cases, exactly as a single cycle (same transaction)
            order = cycle_execute_locked(s, now=now, reads=reads)
            if order is not None:
                written.append(order)
        written += _advance_bulk(bulk, reads=reads, now=now)
    return written


def _advance_bulk(subscriptions: list[Subscription], *, reads: BatchCycleReads, now: dt.datetime) -> list[Order]:
    if not subscriptions:
        return []
    audit, events, orders = [], [], []
    for s in subscriptions:
        plan = cycle_plan(subscription=s, reads=reads)
        billing_metrics.renewal_observed(now - plan.closed.end)
        before = copy.copy(s)
        happened = [WebhookEventType.SUBSCRIPTION_UPDATED]
        result, applied = cycle_price_and_take_credit(s, plan)
        if s.status == SubscriptionStatus.TRIALING:
            s.status = SubscriptionStatus.ACTIVE
            happened.append(WebhookEventType.SUBSCRIPTION_ACTIVE)
        s.current_period_start, s.current_period_end = plan.next.start, plan.next.end
        s.modified_at = now
        audit.append((s, before, _SUBSCRIPTION_FIELDS))
        events.append((s, happened))
        if result is not None:
            order, lines = order_services.order_build(
                organization=s.organization,
                customer=s.customer,
                billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE,
                pricing_input=plan.pricing_input,
                result=result,
                product=s.product,
                subscription=s,
                discount=s.discount if plan.discount_applies else None,
                seats=s.seats,
                applied_balance=applied,
                period_start=plan.closed.end,
                description=f"Renewal of {s.product.name}",
            )
            orders.append((order, lines, plan.prorations))

    # The subscriptions: one UPDATE, their audit entries, their payloads (each rendered once, from the
    # rows in hand) — all before the invoice counters are taken, to keep that section short.
    bulk_update_rows(subscriptions, _SUBSCRIPTION_FIELDS)
    audit_log_many(audit, created=False)
    context: dict = {}
    emitted = []
    for s, happened in events:
        s._prefetched_objects_cache = {**getattr(s, "_prefetched_objects_cache", {}), "subscription_prices": reads.pinned_rows(s)}
        s.open_pending_updates = []
        data = SubscriptionOutput(s, context=context).data
        emitted += [(s.organization, event, data) for event in happened]

    # Orders last: the invoice counter's lock serialises the organization's renewals until commit.
    by_organization = defaultdict(list)
    for order, _lines, _prorations in orders:
        by_organization[order.organization_id].append(order)
    for organization_id in sorted(by_organization):  # counters taken in one order: no deadlock between batches
        group = by_organization[organization_id]
        for order, (sequence, number) in zip(group, order_services.order_invoice_numbers_next(group[0].organization, len(group))):
            order.invoice_sequence, order.invoice_number = sequence, number
    with values_insert():  # large JSON (pricing inputs): see polar.db
        Order.objects.bulk_create([order for order, _, _ in orders])
    billing_metrics.order_created(OrderBillingReason.SUBSCRIPTION_CYCLE, len(orders))
    items_by_order = {order.id: order_services.order_items_from_lines(order=order, lines=lines) for order, lines, _ in orders}
    OrderItem.objects.bulk_create([item for items in items_by_order.values() for item in items])
    for order, _lines, prorations in orders:
        if prorations:
            SubscriptionProration.objects.filter(pk__in=[p.pk for p in prorations]).update(order=order)
    # Items are written with their order and never change: like ``order_create`` (whose items go in
    # through bulk_create too), the order's entry is their trail.
    audit_log_many([(order, None, None) for order, _, _ in orders], created=True)
    for order, _lines, _prorations in orders:
        order._prefetched_objects_cache = {"items": items_by_order[order.id]}
        data = OrderOutput(order).data
        emitted.append((order.organization, WebhookEventType.ORDER_CREATED, data))
        if order.status == OrderStatus.PAID:
            emitted.append((order.organization, WebhookEventType.ORDER_PAID, data))
    webhook_events_emit(emitted)
    order_services.order_receipts_after_commit([order.id for order, _, _ in orders if order.status == OrderStatus.PAID])
    return [order for order, _, _ in orders]


# --- 2. charge ---------------------------------------------------------------------------------------


def _charge(ids, *, written: dict[uuid.UUID, Order]) -> list[uuid.UUID]:
    """Charge the batch's pending cycle orders: those this run wrote are in ``written`` (in memory,
    with their related rows); any other (left by an earlier, interrupted run) is read here."""
    pending_ids = list(
        Order.objects.filter(
            subscription_id__in=ids, billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE, status=OrderStatus.PENDING
        )
        .order_by("period_start", "id")
        .values_list("id", flat=True)
    )
    if not pending_ids:
        return []
    missing = [order_id for order_id in pending_ids if order_id not in written]
    loaded = {
        o.id: o
        for o in Order.objects.filter(pk__in=missing)
        .select_related("organization", "customer", "product", "discount", "subscription")
        .defer("pricing_inputs")
    }
    pending = [written.get(order_id) or loaded[order_id] for order_id in pending_ids]
    with_payment = set(Payment.objects.filter(order_id__in=[o.id for o in pending]).values_list("order_id", flat=True))
    subscriptions = {o.subscription_id: o.subscription for o in pending}
    method_ids = {s.payment_method_id for s in subscriptions.values() if s.payment_method_id}
    method_ids |= {o.customer.default_payment_method_id for o in pending if o.customer.default_payment_method_id}
    methods = {m.id: m for m in PaymentMethod.objects.filter(pk__in=method_ids, deleted_at__isnull=True)}

    batch, one_by_one, first_per_subscription = [], [], set()
    for order in pending:
        subscription = subscriptions[order.subscription_id]
        method = methods.get(subscription.payment_method_id) or methods.get(order.customer.default_payment_method_id)
        if method is not None and method.customer_id != order.customer_id:
            method = None
        # One charge per subscription per batch (older unpaid orders first, one at a time).
        if order.id in with_payment or method is None or order.due_amount <= 0 or order.subscription_id in first_per_subscription:
            one_by_one.append(order)
        else:
            first_per_subscription.add(order.subscription_id)
            batch.append((order, method))
    unsettled = []
    for order in one_by_one:
        try:
            renewal_order_charge(order=order)
        except PaymentError:  # pending (timeout) or failed at the processor: as for a single cycle
            logger.warning("renewals.charge_unsettled", order_id=str(order.id))
            unsettled.append(order.subscription_id)
    if not batch:
        return unsettled

    # ``payment_attempts`` is written with the outcome (``orders_mark_paid``, ``_attempt_failed``): the key of
    # attempt 1 is derived from the order, not from the counter, so a crash in between changes nothing.
    answers = payments_charge_many(
        [
            ChargeRequest(
                customer=order.customer,
                payment_method=method,
                amount=order.due_amount,
                currency=order.currency,
                idempotency_key=order.payment_idempotency_key(1),
                order_id=order.id,
                trigger=Payment.Trigger.SUBSCRIPTION_CYCLE,
                description=order.description or order.invoice_number,
            )
            for order, method in batch
        ]
    )
    paid = []
    for (order, _method), answer in zip(batch, answers):
        subscription = subscriptions[order.subscription_id]
        if isinstance(answer, Payment) and answer.status == Payment.Status.SUCCEEDED:
            paid.append(order)
        elif isinstance(answer, Payment) and answer.status == Payment.Status.FAILED:
            _attempt_failed(order)
            subscription_mark_past_due(subscription, order=order, payment=answer)
        elif isinstance(answer, PaymentError) and answer.payment is not None and answer.payment.status == Payment.Status.FAILED:
            _attempt_failed(order)
            subscription_mark_past_due(subscription, order=order, payment=answer.payment)
        else:  # no answer (timeout): reconciled later through the same key
            logger.warning("renewals.charge_unsettled", order_id=str(order.id))
            unsettled.append(order.subscription_id)
    order_services.orders_mark_paid(paid, attempt=1)
    for order in paid:
        if subscriptions[order.subscription_id].status == SubscriptionStatus.PAST_DUE:
            subscription_recover_if_settled(subscription=subscriptions[order.subscription_id])
    return unsettled


def _attempt_failed(order: Order) -> None:
    """Count the failed first attempt on the order (what ``order_charge`` writes before charging)."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().defer("pricing_inputs").get(pk=order.pk)
        if locked.payment_attempts < 1:
            locked.payment_attempts = 1
            locked.save(update_fields=["payment_attempts"])
