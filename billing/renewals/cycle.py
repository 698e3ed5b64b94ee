"""Executing one renewal cycle: advance the period and write the ``subscription_cycle`` order
(transaction 1), then charge it (transaction 2); a failed charge moves the subscription to
``past_due``, a late success brings it back.

This is the boundary between planning and executing a cycle, shared by the single path
(``subscription_cycle``, the ``billing.tasks.subscription_cycle`` task) and the batch
(``billing.renewals.batch``):

- ``cycle_execute_locked(locked, now=, reads=)``: the whole transaction 1 for a locked, due subscription
  (the batch uses it for the rare cases: a scheduled change, an order already written);
- ``cycle_price_and_take_credit(subscription, plan)``: price a ``CyclePlan`` and move the balances;
- ``renewal_order_charge`` / ``charge_pending_cycle_orders``: transaction 2;
- ``subscription_mark_past_due``: a failed charge (then ``RENEWAL_PAYMENT_FAILED_HOOKS``);
- ``checkpoint(name)``: where a process may die between the two transactions (a test seam).

Transaction 1 locks the subscription, re-checks that it is due, applies the scheduled changes (cancel
at period end → ``canceled`` with benefits revoked; a ``next_period`` plan change; trial end →
``active``), advances the period (anchor day kept, clamped), and writes the order the plan says
(``billing.renewals.plan``). Transaction 2 is the charge, made with no lock held, by ``order_charge``
with the key ``order:<id>:attempt:<n>``.

Exactly once: the period is advanced in the same transaction as the order insert, so a second delivery
finds nothing due; the unique constraint (subscription, period_start, billing_reason) is the last line
of defence, and its ``IntegrityError`` means "already done". A worker killed between the order and the
charge leaves a ``pending`` order: the redelivered task finds it (``charge_pending_cycle_orders``) and
charges it with the same attempt key, so the processor returns the charge it may already have made
instead of making a second one. See docs/billing.md, "Renewals".

A failed charge moves the subscription to ``past_due`` and calls the hooks in
``RENEWAL_PAYMENT_FAILED_HOOKS`` (dunning appends its own there).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import structlog
from django.db import IntegrityError, transaction

from billing import metrics as billing_metrics
from billing.dunning.selectors import order_is_usage_only
from billing.models import (
    Order,
    OrderBillingReason,
    OrderStatus,
    Payment,
    Subscription,
    SubscriptionProration,
    SubscriptionStatus,
)
from billing.orders import services as order_services
from billing.payments.selectors import payment_method_default
from billing.pricing import price
from billing.renewals.plan import CyclePlan, CycleReads, cycle_plan
from billing.subscriptions.services import (
    subscription_apply_pending_update,
    subscription_emit,
    subscription_end,
    subscription_recover_if_settled,
)
from polar import clock
from polar.webhooks.events import WebhookEventType

logger = structlog.get_logger(__name__)

# Called as hook(subscription=..., order=..., payment=...) after a renewal charge failed and the
# subscription was moved to past_due, outside any transaction. ``billing.apps`` installs dunning's
# (``billing.dunning.services.dunning_on_renewal_failed``: opens the order's retry schedule).
RENEWAL_PAYMENT_FAILED_HOOKS: list[Callable] = []


def cycle_price_and_take_credit(subscription: Subscription, plan: CyclePlan):
    """Price the cycle and move the subscription's balances (in memory, on the locked row): the credit
    balance pays what it can of the total (``applied``) and takes any net credit back; a discount that
    applies uses one of its cycles. Returns ``(result, applied)``; ``(None, 0)`` when nothing is billed."""
    if not plan.pricing_input.lines:
        return None, 0
    result = price(plan.pricing_input)
    applied = min(subscription.credit_balance, max(result.total_amount, 0))
    subscription.credit_balance = subscription.credit_balance - applied + result.credit_carried
    if plan.discount_applies:
        subscription.discount_applied_cycles += 1
    return result, applied


def cycle_execute_locked(locked: Subscription, *, now: dt.datetime, reads: CycleReads | None = None) -> Order | None:
    """The cycle of a locked, due subscription (transaction 1). Returns the order written, if any.

    The subscription is changed first and the order inserted last: ``order_create`` locks the
    organization's invoice counter, which serialises every renewal of the organization until
    commit, so that section is kept as short as possible. If the insert hits the unique constraint
    (an order for this boundary exists: the renewal was already done), only the insert is rolled
    back (savepoint); the period advance stands, which is what the existing order billed, and the
    credit balance and discount cycles are put back as they were.
    """
    plan = cycle_plan(subscription=locked, reads=reads)
    boundary = plan.closed.end
    billing_metrics.renewal_observed(now - boundary)
    was_trialing = locked.status == SubscriptionStatus.TRIALING
    before = (locked.credit_balance, locked.discount_applied_cycles)
    next_product = plan.pending.product if plan.pending is not None and plan.pending.product_id else locked.product
    discount = locked.discount if plan.discount_applies else None

    _result, applied = cycle_price_and_take_credit(locked, plan)

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
        subscription_emit(locked, *events)

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
        return cycle_execute_locked(locked, now=now)


def _payment_method_for(subscription: Subscription):
    method = subscription.payment_method
    if method is not None and method.deleted_at is None:
        return method
    return payment_method_default(customer=subscription.customer)


def subscription_mark_past_due(subscription: Subscription, *, order: Order, payment: Payment | None) -> None:
    """A renewal charge failed: ``active``/``trialing`` → ``past_due`` (locked; ``subscription.updated`` +
    ``subscription.past_due``), then the dunning hooks. A bill of metered usage only leaves the
    subscription as it is (dunning retries it, then voids it)."""
    if not order_is_usage_only(order):
        with transaction.atomic():
            locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
            if locked.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
                now = clock.now()
                locked.status = SubscriptionStatus.PAST_DUE
                locked.past_due_at = now
                locked.modified_at = now
                locked.save(update_fields=["status", "past_due_at", "modified_at"])
                subscription_emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED, WebhookEventType.SUBSCRIPTION_PAST_DUE)
    for hook in RENEWAL_PAYMENT_FAILED_HOOKS:
        hook(subscription=subscription, order=order, payment=payment)


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
        subscription_mark_past_due(subscription, order=order, payment=None)
        return None
    payment = order_services.order_charge(order=order, payment_method=method)
    if payment is not None and payment.status == Payment.Status.SUCCEEDED:
        if subscription.status == SubscriptionStatus.PAST_DUE:
            try:
                subscription_recover_if_settled(subscription=subscription)
            except Exception:  # charged: the fulfilment sweep brings it back to active
                logger.exception("renewals.recover_deferred", subscription_id=str(subscription.id))
    elif payment is not None and payment.status == Payment.Status.FAILED:
        subscription_mark_past_due(subscription, order=order, payment=payment)
    return payment


def charge_pending_cycle_orders(subscription_id) -> None:
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
    checkpoint("after_order")
    charge_pending_cycle_orders(subscription_id)
    return order


# A test seam: ``checkpoint(name)`` marks a point of the cycle where a process may die (``after_order``:
# the cycle order is committed, its charge not yet made). It calls the hooks installed here, and there are
# none in production; the killed-worker test installs one (tests/billing/renewals/worker_settings.py)
# that stops the worker there so it can be SIGKILLed at a known point.
CHECKPOINT_HOOKS: list[Callable[[str], None]] = []


def checkpoint(name: str) -> None:
    """Run the hooks installed for the crash tests (none in production)."""
    for hook in CHECKPOINT_HOOKS:
        hook(name)
