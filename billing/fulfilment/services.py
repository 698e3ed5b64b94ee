"""Fulfilment: delivering what a paid order pays for. After a charge, nothing fails.

A request that takes money (checkout confirm, subscription create, an ``invoice`` plan change) writes its
order ``pending`` with ``awaiting_fulfilment`` set (the crash marker), charges it, and then fulfils it:

- ``subscription_create``: the subscription ``incomplete`` → ``active`` and its benefits granted;
- ``purchase``: the order's benefits granted;
- ``subscription_update``: the new plan pinned (``subscription_change_settle``);
- and, for any of them bought through a checkout, the checkout ``succeeded``;
- then the marker is cleared.

Every step is idempotent (it looks at the state before changing it, under the row lock), so fulfilment
can run any number of times. The charging request calls ``order_fulfil_after_charge``, which never
raises: a failure (a benefit that cannot be granted, a database error, a webhook that cannot be written)
is logged and recorded on the order (``fulfilment_error``) and the request answers with the state
reached (2xx: money was taken). The ``fulfilment_sweep`` beat step (``billing.tasks.fulfilment_sweep``,
and ``run_billing``'s ``fulfilment`` step) finishes what was left: marked orders that are paid (or
whose charge succeeded), benefit grants recorded with an error, checkouts left ``confirmed`` whose
purchase is complete, and ``past_due`` subscriptions whose late charge succeeded.

A benefit that cannot be granted does not fail the order (as on Polar): its grant is recorded with
``error`` and no ``granted_at`` (not active), and retried by the sweep with back-off.

Where it sits: the requests that take money (``billing.checkouts.services``,
``billing.subscriptions.lifecycle`` and ``.changes``) call fulfilment after their charge, so fulfilment
is below them and calls only what is below it: the transitions that finish a purchase
(``billing.subscriptions.services``: ``subscription_activate_paid``, ``subscription_change_settle``,
``subscription_recover_if_settled``), benefits, orders, and the last step of a checkout,
``checkout_succeed``, which lives here for that reason.
"""

from __future__ import annotations

import datetime as dt

import structlog
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from billing.benefits import services as benefit_services
from billing.checkouts.payloads import CheckoutOutput
from billing.models import (
    BenefitGrant,
    Checkout,
    Order,
    OrderBillingReason,
    OrderStatus,
    Payment,
    PendingSubscriptionUpdate,
    Subscription,
    SubscriptionStatus,
)
from billing.orders import services as order_services
from billing.subscriptions import services as subscription_services
from polar import clock
from polar.webhooks.events import WebhookEventType
from polar.webhooks.services import webhook_event_emit

logger = structlog.get_logger(__name__)

# The reasons whose orders are charged by the request that writes them (and so fulfilled by it).
FULFILLED_REASONS = frozenset(
    {OrderBillingReason.PURCHASE, OrderBillingReason.SUBSCRIPTION_CREATE, OrderBillingReason.SUBSCRIPTION_UPDATE}
)
# The sweep leaves younger rows alone: their own request is most likely still fulfilling them.
SWEEP_GRACE = dt.timedelta(minutes=1)
SWEEP_BATCH_SIZE = 200
# A grant that failed is tried again after 2^attempts minutes, at most this long.
GRANT_RETRY_MAX_DELAY = dt.timedelta(hours=6)

# --- the last step of a checkout -------------------------------------------------------------------

# A confirmation marks the checkout ``confirmed`` while it attaches the card and charges; another
# confirmation meanwhile is refused (``checkout_confirm``), and the sweep leaves it alone. One left
# ``confirmed`` by a crash can be confirmed again after this long (the retry reuses the
# subscription/order already written, and so the same charge key), and the sweep finishes it.
# A confirmation marks the checkout ``confirmed`` while it attaches the card and charges; another
# confirmation meanwhile is refused. One left ``confirmed`` by a crash can be confirmed again after
# this long (the retry reuses the subscription/order already written, and so the same charge key).
CONFIRMATION_LOCK = dt.timedelta(minutes=5)


def checkout_succeed(*, checkout: Checkout) -> Checkout:
    """Mark a confirmed checkout ``succeeded`` (emits ``checkout.updated``). Locks the checkout.
    Idempotent: a succeeded checkout is returned as it is. The end of ``checkout_confirm``, and a
    fulfilment step for a checkout whose purchase was paid."""
    with transaction.atomic():
        locked = Checkout.objects.select_for_update().get(pk=checkout.pk)
        if locked.status == Checkout.Status.SUCCEEDED:
            return locked
        locked.status = Checkout.Status.SUCCEEDED
        locked.confirmed_at = clock.now()
        locked.modified_at = locked.confirmed_at
        locked.save()
        webhook_event_emit(
            organization=locked.organization,
            type=WebhookEventType.CHECKOUT_UPDATED,
            data=CheckoutOutput(Checkout.objects.get(pk=locked.pk)).data,
        )
    return locked


# --- fulfilling an order -----------------------------------------------------------------------------


def order_fulfil(*, order: Order) -> Order:
    """Deliver what ``order`` pays for (see the module docstring); raises if a step fails.

    Idempotent: each step checks the state first (a paid order, an active subscription, an applied
    change, a succeeded checkout and granted benefits are left as they are). An order still ``pending``
    whose charge succeeded (recording the payment failed) is marked paid first. An order that is not
    paid (declined, void, charge unknown) is returned untouched, its marker kept.
    """
    order.refresh_from_db()
    if (
        order.status == OrderStatus.PENDING
        and Payment.objects.filter(order_id=order.id, status=Payment.Status.SUCCEEDED).exists()
    ):
        order = order_services.order_mark_paid(order=order)
    if not order.paid:
        return order
    if order.billing_reason == OrderBillingReason.SUBSCRIPTION_CREATE and order.subscription_id is not None:
        subscription_services.subscription_activate_paid(subscription=order.subscription)
    elif order.billing_reason == OrderBillingReason.PURCHASE and order.product_id is not None:
        with transaction.atomic():
            benefit_services.benefit_grants_create_for(customer=order.customer, product=order.product, order_id=order.id)
    elif order.billing_reason == OrderBillingReason.SUBSCRIPTION_UPDATE:
        pending = PendingSubscriptionUpdate.objects.filter(order_id=order.id).first()
        if pending is not None:
            subscription_services.subscription_change_settle(pending_update=pending)
    if order.checkout_id is not None:
        checkout_succeed(checkout=Checkout.objects.get(pk=order.checkout_id))
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.awaiting_fulfilment or locked.fulfilment_error:
            locked.awaiting_fulfilment = False
            locked.fulfilment_error = None
            locked.modified_at = clock.now()
            locked.save(update_fields=["awaiting_fulfilment", "fulfilment_error", "modified_at"])
    order.refresh_from_db()
    return order


def order_fulfil_after_charge(*, order: Order) -> bool:
    """``order_fulfil`` for a request that has just taken money: never raises. Returns True when the
    order is fulfilled; False when a step failed, which is logged and recorded on the order
    (``fulfilment_error``, the marker kept) for ``fulfilment_sweep`` to finish."""
    try:
        order_fulfil(order=order)
        return True
    except Exception as exc:  # money was taken: record and let the sweep finish, never 5xx
        logger.exception("fulfilment.deferred", order_id=str(order.id), billing_reason=order.billing_reason)
        _record_error(order, exc)
        return False


def _record_error(order: Order, exc: Exception) -> None:
    try:
        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            locked.awaiting_fulfilment = True
            locked.fulfilment_error = f"{type(exc).__name__}: {exc}"[:2000]
            locked.save(update_fields=["awaiting_fulfilment", "fulfilment_error"])
    except Exception:  # the marker written with the order still stands
        logger.exception("fulfilment.record_error_failed", order_id=str(order.id))


def _grant_retry_due(grant: BenefitGrant, now) -> bool:
    attempts = int((grant.error or {}).get("attempts") or 1)
    delay = min(dt.timedelta(minutes=2 ** min(attempts, 20)), GRANT_RETRY_MAX_DELAY)
    return grant.modified_at is None or grant.modified_at + delay <= now


def fulfilment_sweep(*, now: dt.datetime | None = None, limit: int = SWEEP_BATCH_SIZE) -> dict:
    """Finish fulfilment that a failure or a crash left behind (beat, every minute; ``run_billing``).

    1. orders still ``awaiting_fulfilment`` that are paid, or whose charge succeeded, written more than
       ``SWEEP_GRACE`` ago → ``order_fulfil``;
    2. benefit grants recorded with an error (not revoked) → granted again, with back-off;
    3. checkouts left ``confirmed`` for longer than their confirmation lock whose subscription started
       (a trial, a paid first order) or whose order is paid → ``succeeded``;
    4. ``past_due`` subscriptions with nothing left unpaid and an order paid since they went past due (a
       charge that succeeded, whose recovery step failed) → ``active``.

    Each item runs on its own; one that fails is logged and counted, and tried again next time.
    Idempotent. Returns counts.
    """
    now = now or clock.now()
    cutoff = now - SWEEP_GRACE
    counts = {"orders": 0, "grants": 0, "checkouts": 0, "subscriptions": 0, "errors": 0}

    charged = Payment.objects.filter(order_id=OuterRef("pk"), status=Payment.Status.SUCCEEDED)
    orders = list(
        Order.objects.filter(awaiting_fulfilment=True, created_at__lt=cutoff)
        .filter(
            Q(status__in=[OrderStatus.PAID, OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED])
            | Q(Exists(charged), status=OrderStatus.PENDING)
        )
        .order_by("created_at")[:limit]
    )
    for order in orders:
        if order_fulfil_after_charge(order=order):
            counts["orders"] += 1
        else:
            counts["errors"] += 1

    grants = BenefitGrant.objects.filter(granted_at__isnull=True, revoked_at__isnull=True, error__isnull=False).order_by(
        "modified_at"
    )
    for grant in grants[: limit * 5]:
        if not _grant_retry_due(grant, now):
            continue
        try:
            if benefit_services.benefit_grant_retry(grant=grant):
                counts["grants"] += 1
            else:
                counts["errors"] += 1
        except Exception:  # one grant must not stop the sweep
            logger.exception("fulfilment.grant_retry_failed", grant_id=str(grant.id))
            counts["errors"] += 1

    started = Q(subscription__status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE])
    paid_order = Q(order__status__in=[OrderStatus.PAID, OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED])
    stuck = Checkout.objects.filter(status=Checkout.Status.CONFIRMED, confirmed_at__lt=now - CONFIRMATION_LOCK).filter(
        started | paid_order
    )
    for checkout in stuck.order_by("confirmed_at")[:limit]:
        try:
            checkout_succeed(checkout=checkout)
            counts["checkouts"] += 1
        except Exception:
            logger.exception("fulfilment.checkout_failed", checkout_id=str(checkout.id))
            counts["errors"] += 1

    unpaid = Order.objects.filter(subscription_id=OuterRef("pk"), status=OrderStatus.PENDING)
    paid_late = Order.objects.filter(
        subscription_id=OuterRef("pk"), status=OrderStatus.PAID, paid_at__gte=OuterRef("past_due_at")
    )
    recovered = Subscription.objects.filter(status=SubscriptionStatus.PAST_DUE, past_due_at__lt=cutoff).filter(
        ~Exists(unpaid), Exists(paid_late)
    )
    for subscription in recovered.order_by("past_due_at")[:limit]:
        try:
            if subscription_services.subscription_recover_if_settled(subscription=subscription):
                counts["subscriptions"] += 1
        except Exception:
            logger.exception("fulfilment.recover_failed", subscription_id=str(subscription.id))
            counts["errors"] += 1
    if any(counts.values()):
        logger.info("fulfilment.sweep", **counts)
    return counts
