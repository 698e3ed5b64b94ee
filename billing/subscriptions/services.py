"""Subscription transitions. Every one is a function here, runs in one transaction and locks the
subscription row (``select_for_update``) before reading the state it decides on.

States (Polar's): ``incomplete`` (created, first charge not successful: nothing granted) →
``active`` (first order paid) or ``trialing`` (no charge until the trial ends); ``active`` →
``past_due``/``unpaid`` (renewals and dunning, other modules) → ``canceled`` (revoked now, or at the
end of the period when ``cancel_at_period_end``). Illegal transitions raise Polar's errors:
``AlreadyCanceledSubscription`` (403), ``SubscriptionLocked`` (409: a charge in flight, a change
already scheduled, a status that cannot change), ``PaymentFailed`` (402, a declined charge).

Charges happen **outside** the transactions that hold locks: a first transaction writes the
subscription and its pending order (the crash marker), ``order_charge`` calls the processor with
the order-derived idempotency key, and a second transaction records the outcome.

A declined first charge (``subscription_create``) leaves the subscription ``incomplete`` with its
``subscription_create`` order ``pending`` (never ``paid``), no benefit granted, and raises
``PaymentFailed``. The rows stay (the invoice number is gapless and the failed ``Payment`` points at
the order): a checkout confirmed again with another card charges that same order
(``subscription_pay_first_order``) instead of creating a second subscription.

Plan changes (``proration_behavior``):
- ``invoice``: the unused time of the old prices is credited and the new prices charged for the rest
  of the period, by the second, in a ``subscription_update`` order charged now. The switch is applied
  only when that order is paid; a decline voids the order, keeps the old plan and raises
  ``PaymentFailed``. A net credit (a downgrade) is kept in ``credit_balance`` and taken off later orders.
- ``prorate``: the same lines are stored as ``SubscriptionProration`` rows that the next renewal
  order bills; the switch is immediate.
- ``next_period``: a ``PendingSubscriptionUpdate`` the renewal applies at ``current_period_end``.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import structlog
from django.db import transaction

from billing.models import (
    Discount,
    Order,
    OrderBillingReason,
    OrderStatus,
    Payment,
    PaymentMethod,
    PendingSubscriptionUpdate,
    Product,
    ProductPrice,
    ProrationBehavior,
    Subscription,
    SubscriptionPrice,
    SubscriptionProration,
    SubscriptionStatus,
)
from billing.orders import services as order_services
from billing.pricing import DiscountInput, Period, PricingInput, next_period_end, price
from billing.subscriptions.payloads import SubscriptionOutput
from polar import clock
from polar.errors import PolarError, PolarRequestValidationError
from polar.webhooks.events import WebhookEventType
from polar.webhooks.services import webhook_event_emit

logger = structlog.get_logger(__name__)


class AlreadyCanceledSubscription(PolarError):
    status_code = 403
    error = "AlreadyCanceledSubscription"


class SubscriptionLocked(PolarError):
    status_code = 409
    error = "SubscriptionLocked"


class OrganizationNotAcceptingPayments(PolarError):
    """The organization was denied: nothing is sold or charged for it any more (403)."""

    status_code = 403
    error = "NotPermitted"


def _payment_failed(payment: Payment):
    from billing.payments.services import PaymentFailed

    return PaymentFailed.for_payment(payment)


def _invalid(field: str, msg: str, type_: str = "value_error"):
    return PolarRequestValidationError.single(["body", field], msg, type_)


def _emit(subscription: Subscription, *events: WebhookEventType) -> None:

    fresh = Subscription.objects.select_related("customer", "product", "discount").get(pk=subscription.pk)
    data = SubscriptionOutput(fresh).data
    for event in events:
        webhook_event_emit(organization=fresh.organization, type=event, data=data)


def _lock(subscription: Subscription) -> Subscription:
    return Subscription.objects.select_for_update().get(pk=subscription.pk)


# --- validation helpers ---------------------------------------------------------------------------


def _product_prices(product: Product, *, currency: str | None, field: str = "product_id") -> list[ProductPrice]:
    """The product's active price versions in one currency (the one asked, else the static price's)."""
    prices = list(product.all_prices.filter(is_archived=False).order_by("created_at", "id"))
    if not prices:
        raise _invalid(field, "Product has no active price.")
    if currency is None:
        static = [p for p in prices if p.is_static]
        currencies = {p.price_currency for p in static} or {p.price_currency for p in prices}
        currency = "usd" if "usd" in currencies else sorted(currencies)[0]
    chosen = [p for p in prices if p.price_currency == currency]
    if not chosen:
        raise _invalid(field, f"Product has no price in {currency.upper()}.")
    return chosen


def _validate_product(product: Product | None, *, organization, field: str = "product_id") -> Product:
    if product is None or product.organization_id != organization.id:
        raise _invalid(field, "Product does not exist.")
    if product.is_archived:
        raise _invalid(field, "Product is archived.")
    if not product.is_recurring:
        raise _invalid(field, "Product is not a subscription product.")
    return product


def _validate_seats(prices: list[ProductPrice], seats: int | None) -> int | None:
    seat_prices = [p for p in prices if p.amount_type == ProductPrice.AmountType.SEAT_BASED]
    if not seat_prices:
        if seats is not None:
            raise _invalid("seats", "Seats can only be set on a seat-based product.")
        return None
    price_ = seat_prices[0]
    minimum = price_.minimum_seats or 1
    if seats is None:
        return minimum
    maximum = price_.maximum_seats if price_.maximum_seats is not None else MAX_SEATS
    maximum = min(maximum, MAX_SEATS)
    if seats < minimum or seats > maximum:
        raise _invalid("seats", f"Seats must be between {minimum} and {maximum}.", "value_error")
    return seats


# The most seats a subscription can hold (what the database column stores); the amount ceiling
# (``polar.money.MAX_AMOUNT``, checked by ``_validate_amounts``) usually bites first.
MAX_SEATS = 2_147_483_647


def _validate_amounts(*, period_amount: int, result, seats: int | None, field: str = "seats") -> None:
    """422 before anything is written when an amount would exceed what can be charged."""
    from polar.money import MAX_AMOUNT

    amounts = [period_amount] + ([result.total_amount, result.subtotal_amount] if result is not None else [])
    if any(amount > MAX_AMOUNT for amount in amounts):
        loc = "seats" if seats is not None else field
        raise _invalid(loc, f"The amount would exceed the maximum of {MAX_AMOUNT} in minor units.", "value_error")


def _refuse_denied(organization) -> None:
    """A denied organization takes no new money (its open checkouts and API calls are refused)."""
    if not organization.can_use_api():
        raise OrganizationNotAcceptingPayments("This organization cannot accept payments.")


def _validate_payment_method(payment_method: PaymentMethod | None, *, customer) -> PaymentMethod | None:
    if payment_method is None:
        return None
    if (
        payment_method.organization_id != customer.organization_id
        or payment_method.customer_id != customer.id
        or payment_method.deleted_at is not None
    ):
        raise _invalid("payment_method_id", "Payment method not found for this customer.")
    return payment_method


def _validate_discount(discount: Discount | None, *, organization, product, customer, currency) -> Discount | None:
    from billing.discounts.services import discount_unusable_reason

    if discount is None:
        return None
    if discount.organization_id != organization.id:
        raise _invalid("discount_id", "Discount does not exist.")
    problem = discount_unusable_reason(discount=discount, product=product, customer=customer, currency=currency)
    if problem is not None:
        raise _invalid("discount_id", problem[1])
    return discount


def _customer_payment_method(customer) -> PaymentMethod | None:
    from billing.payments.selectors import payment_method_default

    return payment_method_default(customer=customer)


def _static_lines(*, product_name, prices, seats, tax_bps, custom_amounts=None, kind="charge", period=None, prorate_from=None):
    custom_amounts = custom_amounts or {}
    return [
        order_services.line_for(
            p,
            product_name=product_name,
            tax_rate_bps=tax_bps,
            seats=seats,
            custom_amount=custom_amounts.get(p.id),
            kind=kind,
            period=period,
            prorate_from=prorate_from,
            label_prefix="Unused time on " if kind == "credit" else ("Remaining time on " if prorate_from else ""),
        )
        for p in prices
        if p.is_static
    ]


def _period_amount(*, product_name, prices, seats, currency, custom_amounts=None) -> int:
    """What the static prices cost for one whole period, before discount and tax (``Subscription.amount``)."""
    now = clock.now()
    lines = _static_lines(product_name=product_name, prices=prices, seats=seats, tax_bps=0, custom_amounts=custom_amounts)
    if not lines:
        return 0
    return price(PricingInput(period=Period(now, now + dt.timedelta(days=1)), currency=currency, lines=lines)).subtotal_amount


# --- creation ---------------------------------------------------------------------------------------


def subscription_create(
    *,
    organization,
    customer,
    product: Product,
    payment_method: PaymentMethod | None = None,
    discount: Discount | None = None,
    seats: int | None = None,
    trial_end: dt.datetime | None = None,
    checkout=None,
    currency: str | None = None,
    custom_amount: int | None = None,
    metadata: dict | None = None,
) -> Subscription:
    """Start ``customer`` on ``product`` and charge the first period unless it is free or trialing.

    Validates everything before writing (422 with ``loc`` and nothing written: archived or foreign
    product, no price in the currency, a discount that does not apply, seats outside the tiers, a
    foreign or deleted payment method, a paid product with no payment method, a trial end in the past).

    Transaction 1 writes the subscription pinned to the product's current price versions
    (``SubscriptionPrice``), redeems the discount, and writes the ``subscription_create`` order (or
    none while trialing). A free first order is paid at once and the subscription activated in the
    same transaction. Otherwise the order is charged after commit (``order_charge``) and transaction 2
    activates the subscription (status ``active``, ``started_at``, benefits granted,
    ``subscription.updated`` + ``subscription.active``). Emits ``subscription.created`` in transaction 1.
    A decline raises ``PaymentFailed`` and leaves the subscription ``incomplete`` (see the module notes).
    """
    from billing.discounts.services import discount_redeem

    _refuse_denied(organization)
    if customer.organization_id != organization.id or customer.deleted_at is not None:
        raise _invalid("customer_id", "Customer does not exist.")
    _validate_product(product, organization=organization)
    prices = _product_prices(product, currency=currency)
    currency = prices[0].price_currency
    seats = _validate_seats(prices, seats)
    discount = _validate_discount(discount, organization=organization, product=product, customer=customer, currency=currency)
    payment_method = _validate_payment_method(payment_method, customer=customer) or _customer_payment_method(customer)
    now = clock.now()
    if trial_end is not None and trial_end <= now:
        raise _invalid("trial_end", "Trial end must be in the future.")
    custom_amounts = {}
    for p in prices:
        if p.amount_type == ProductPrice.AmountType.CUSTOM and custom_amount is not None:
            if custom_amount < (p.minimum_amount or 0) or (p.maximum_amount is not None and custom_amount > p.maximum_amount):
                raise _invalid("amount", "Amount is outside the price's bounds.")
            custom_amounts[p.id] = custom_amount

    interval, count = product.recurring_interval, product.recurring_interval_count or 1
    if trial_end is not None:
        period = Period(now, trial_end)
        anchor_day = trial_end.day
    else:
        period = Period(now, next_period_end(now, interval, count))
        anchor_day = now.day
    tax_bps = order_services.tax_rate_bps_for(organization=organization, customer=customer)
    period_amount = _period_amount(product_name=product.name, prices=prices, seats=seats, currency=currency, custom_amounts=custom_amounts)
    pricing_input = None
    result = None
    if trial_end is None:
        lines = _static_lines(product_name=product.name, prices=prices, seats=seats, tax_bps=tax_bps, custom_amounts=custom_amounts)
        pricing_input = PricingInput(
            period=period,
            currency=currency,
            lines=lines,
            discount=order_services.discount_input_for(discount, first_order=True),
        )
        result = price(pricing_input) if lines else None
        if result is not None and result.amount_due > 0 and payment_method is None:
            raise _invalid("payment_method_id", "A payment method is required for a paid product.", "missing")
    # Every bound is checked before the first write: a 422 never leaves a subscription or an order behind.
    _validate_amounts(period_amount=period_amount, result=result, seats=seats, field="amount")

    with transaction.atomic():
        subscription = Subscription.objects.create(
            organization=organization,
            customer=customer,
            product=product,
            status=SubscriptionStatus.TRIALING if trial_end else SubscriptionStatus.INCOMPLETE,
            amount=period_amount,
            currency=currency,
            recurring_interval=interval,
            recurring_interval_count=count,
            current_period_start=period.start,
            current_period_end=period.end,
            billing_anchor_day=anchor_day,
            trial_start=now if trial_end else None,
            trial_end=trial_end,
            started_at=now if trial_end else None,
            discount=discount,
            seats=seats,
            payment_method=payment_method,
            checkout=checkout,
            metadata=metadata or {},
        )
        SubscriptionPrice.objects.bulk_create(
            [SubscriptionPrice(subscription=subscription, product_price=p, amount=custom_amounts.get(p.id)) for p in prices]
        )
        if discount is not None:
            discount_redeem(
                discount=discount,
                customer=customer,
                product=product,
                currency=currency,
                subscription_id=subscription.id,
                checkout_id=getattr(checkout, "id", None),
            )
        if checkout is not None:
            from billing.models import Checkout

            locked_checkout = Checkout.objects.select_for_update().get(pk=checkout.pk)
            locked_checkout.subscription = subscription
            locked_checkout.save(update_fields=["subscription"])
        order = None
        if pricing_input is not None:
            order = order_services.order_create(
                organization=organization,
                customer=customer,
                billing_reason=OrderBillingReason.SUBSCRIPTION_CREATE,
                pricing_input=pricing_input,
                product=product,
                subscription=subscription,
                checkout=checkout,
                discount=discount,
                seats=seats,
                description=f"Subscription to {product.name}",
            )
            if discount is not None and pricing_input.discount.is_active():
                subscription.discount_applied_cycles = 1
                subscription.save(update_fields=["discount_applied_cycles"])
        if trial_end is not None:
            _grant(subscription)
        elif order.status == OrderStatus.PAID:
            _activate(subscription, now=now, emit=False)
        _emit(subscription, WebhookEventType.SUBSCRIPTION_CREATED)
        if subscription.status == SubscriptionStatus.ACTIVE:
            _emit(subscription, WebhookEventType.SUBSCRIPTION_ACTIVE)

    if order is not None and order.status == OrderStatus.PENDING:
        return subscription_pay_first_order(subscription=subscription, payment_method=payment_method)
    subscription.refresh_from_db()
    return subscription


def subscription_pay_first_order(*, subscription: Subscription, payment_method: PaymentMethod) -> Subscription:
    """Charge the pending ``subscription_create`` order of an ``incomplete`` subscription and activate it.

    Outside any transaction. Idempotent: an already active subscription is returned as it is; the
    charge reuses the order's attempt key while a charge is pending or succeeded. A decline raises
    ``PaymentFailed`` and leaves the subscription ``incomplete``.

    After a succeeded charge nothing raises: activation, benefits and the checkout are delivered by
    ``fulfilment.order_fulfil_after_charge``; what fails there is recorded on the order and finished
    by the ``fulfilment_sweep`` beat step, and the subscription is returned as it stands (possibly
    still ``incomplete`` until then). See docs/fulfilment.md.
    """
    from billing.fulfilment.services import order_fulfil_after_charge

    subscription.refresh_from_db()
    if subscription.status != SubscriptionStatus.INCOMPLETE:
        return subscription
    order = Order.objects.filter(
        subscription=subscription, billing_reason=OrderBillingReason.SUBSCRIPTION_CREATE
    ).first()
    if order is not None and order.status == OrderStatus.PENDING:
        payment_method = _validate_payment_method(payment_method, customer=subscription.customer)
        if payment_method is not None and subscription.payment_method_id != payment_method.id:
            with transaction.atomic():
                locked = _lock(subscription)
                locked.payment_method = payment_method
                locked.save(update_fields=["payment_method"])
        payment = order_services.order_charge(order=order, payment_method=payment_method)
        if payment is not None and payment.status != Payment.Status.SUCCEEDED:
            raise _payment_failed(payment)
    if order is not None:
        # Money was taken (now, or by an earlier attempt): fulfil, never raise.
        order_fulfil_after_charge(order=order)
    else:
        subscription_activate_paid(subscription=subscription)
    subscription.refresh_from_db()
    return subscription


def subscription_activate_paid(*, subscription: Subscription) -> Subscription:
    """What a paid first order delivers: ``incomplete`` → ``active`` (``started_at``, benefits granted,
    ``subscription.updated`` + ``subscription.active``). Locks the subscription. Idempotent: an
    active (or trialing, past due) subscription only gets the benefits it is missing; an ended one is
    left as it is. Used by ``subscription_pay_first_order`` and the fulfilment sweep."""
    with transaction.atomic():
        locked = _lock(subscription)
        if locked.status == SubscriptionStatus.INCOMPLETE:
            _activate(locked, now=clock.now(), emit=True)
        elif locked.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE):
            _grant(locked)
    return locked


def _grant(subscription: Subscription) -> None:
    from billing.benefits.services import benefit_grants_create_for

    benefit_grants_create_for(customer=subscription.customer, product=subscription.product, subscription_id=subscription.id)


def _revoke_grants(subscription: Subscription) -> None:
    from billing.benefits.services import benefit_grants_revoke_for

    benefit_grants_revoke_for(customer=subscription.customer, subscription_id=subscription.id)


def _activate(subscription: Subscription, *, now, emit: bool) -> None:
    """incomplete → active, with the row already locked by the caller."""
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.started_at = subscription.started_at or now
    subscription.modified_at = now
    subscription.save(update_fields=["status", "started_at", "modified_at"])
    _grant(subscription)
    if emit:
        _emit(subscription, WebhookEventType.SUBSCRIPTION_UPDATED, WebhookEventType.SUBSCRIPTION_ACTIVE)


# --- cancel / uncancel / revoke / end -----------------------------------------------------------------


def _open_pending_update(subscription: Subscription) -> PendingSubscriptionUpdate | None:
    return PendingSubscriptionUpdate.objects.filter(
        subscription=subscription, applied_at__isnull=True, canceled_at__isnull=True
    ).first()


def _payment_in_flight(subscription: Subscription) -> bool:
    return Payment.objects.filter(order__subscription=subscription, status=Payment.Status.PENDING).exists()


def _cancel_pending_update(subscription: Subscription, now) -> None:
    pending = _open_pending_update(subscription)
    if pending is not None:
        pending.canceled_at = now
        pending.modified_at = now
        pending.save(update_fields=["canceled_at", "modified_at"])


def subscription_cancel(
    *, subscription: Subscription, customer_cancellation_reason: str | None = None, customer_cancellation_comment: str | None = None
) -> Subscription:
    """Schedule the end of the subscription at ``current_period_end`` (benefits kept until then).

    Locks the subscription. Raises ``AlreadyCanceledSubscription`` if it has ended or is already set to
    cancel. A subscription that never started (``incomplete``, ``unpaid``) has no period to finish and
    is ended at once (as ``subscription_revoke``). A scheduled plan change is dropped. Emits
    ``subscription.updated`` and ``subscription.canceled``.
    """
    with transaction.atomic():
        locked = _lock(subscription)
        if locked.status == SubscriptionStatus.CANCELED or locked.cancel_at_period_end:
            raise AlreadyCanceledSubscription("This subscription is already canceled or will be at the end of the period.")
        if locked.status in (SubscriptionStatus.INCOMPLETE, SubscriptionStatus.UNPAID):
            return _revoke_locked(locked, reason=customer_cancellation_reason, comment=customer_cancellation_comment)
        now = clock.now()
        locked.cancel_at_period_end = True
        locked.canceled_at = now
        locked.ends_at = locked.current_period_end
        locked.customer_cancellation_reason = customer_cancellation_reason
        locked.customer_cancellation_comment = customer_cancellation_comment
        locked.modified_at = now
        locked.save()
        _cancel_pending_update(locked, now)
        _emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED, WebhookEventType.SUBSCRIPTION_CANCELED)
    return locked


def subscription_uncancel(*, subscription: Subscription) -> Subscription:
    """Undo ``subscription_cancel`` before the period ends. Locks the subscription.

    Raises ``AlreadyCanceledSubscription`` once it has ended. Idempotent: a subscription not set to
    cancel is returned unchanged and nothing is emitted. Emits ``subscription.updated`` and
    ``subscription.uncanceled``.
    """
    with transaction.atomic():
        locked = _lock(subscription)
        if locked.status == SubscriptionStatus.CANCELED:
            raise AlreadyCanceledSubscription("This subscription has ended and cannot be uncanceled.")
        if not locked.cancel_at_period_end:
            return locked
        locked.cancel_at_period_end = False
        locked.canceled_at = None
        locked.ends_at = None
        locked.customer_cancellation_reason = None
        locked.customer_cancellation_comment = None
        locked.modified_at = clock.now()
        locked.save()
        _emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED, WebhookEventType.SUBSCRIPTION_UNCANCELED)
    return locked


def subscription_revoke(
    *, subscription: Subscription, customer_cancellation_reason: str | None = None, customer_cancellation_comment: str | None = None
) -> Subscription:
    """End the subscription now: status ``canceled``, ``ended_at`` now, benefits revoked.

    Locks the subscription. Raises ``AlreadyCanceledSubscription`` if it has already ended and
    ``SubscriptionLocked`` while one of its charges is in flight (a ``pending`` payment). No refund is
    made. Emits ``subscription.updated``, ``subscription.canceled`` (unless it was already scheduled
    to cancel, which emitted it then) and ``subscription.revoked``.
    """
    with transaction.atomic():
        locked = _lock(subscription)
        if locked.status == SubscriptionStatus.CANCELED:
            raise AlreadyCanceledSubscription("This subscription is already canceled.")
        if _payment_in_flight(locked):
            raise SubscriptionLocked("A payment for this subscription is in progress; try again shortly.")
        return _revoke_locked(locked, reason=customer_cancellation_reason, comment=customer_cancellation_comment)


def _revoke_locked(locked: Subscription, *, reason, comment) -> Subscription:
    now = clock.now()
    was_scheduled = locked.cancel_at_period_end
    locked.status = SubscriptionStatus.CANCELED
    locked.cancel_at_period_end = False
    locked.canceled_at = locked.canceled_at or now
    locked.ends_at = now
    locked.ended_at = now
    if reason is not None:
        locked.customer_cancellation_reason = reason
    if comment is not None:
        locked.customer_cancellation_comment = comment
    locked.modified_at = now
    locked.save()
    _cancel_pending_update(locked, now)
    _revoke_grants(locked)
    events = [WebhookEventType.SUBSCRIPTION_UPDATED]
    if not was_scheduled:
        events.append(WebhookEventType.SUBSCRIPTION_CANCELED)
    events.append(WebhookEventType.SUBSCRIPTION_REVOKED)
    _emit(locked, *events)
    return locked


def subscription_end(*, subscription: Subscription) -> Subscription:
    """For the renewal cycle: end a subscription that was set to cancel, at its period end.

    The caller holds the row lock (claimed with ``select_for_update(skip_locked=True)``) inside its
    transaction. Status ``canceled``, ``ended_at = current_period_end``, benefits revoked, emits
    ``subscription.updated`` + ``subscription.revoked``. Idempotent for an ended subscription.
    """
    if subscription.status == SubscriptionStatus.CANCELED:
        return subscription
    now = clock.now()
    subscription.status = SubscriptionStatus.CANCELED
    subscription.ended_at = subscription.current_period_end
    subscription.ends_at = subscription.current_period_end
    subscription.cancel_at_period_end = False
    subscription.modified_at = now
    subscription.save()
    _cancel_pending_update(subscription, now)
    _revoke_grants(subscription)
    _emit(subscription, WebhookEventType.SUBSCRIPTION_UPDATED, WebhookEventType.SUBSCRIPTION_REVOKED)
    return subscription


# --- changes ----------------------------------------------------------------------------------------


def _guard_change(locked: Subscription) -> None:
    if locked.status == SubscriptionStatus.CANCELED:
        raise AlreadyCanceledSubscription("This subscription is already canceled.")
    if locked.cancel_at_period_end:
        raise AlreadyCanceledSubscription("This subscription is set to cancel at the end of the period; uncancel it first.")
    if locked.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
        raise SubscriptionLocked(f"A {locked.status} subscription cannot be changed.")
    if _open_pending_update(locked) is not None:
        raise SubscriptionLocked("A change is already scheduled for this subscription.")
    if _payment_in_flight(locked):
        raise SubscriptionLocked("A payment for this subscription is in progress; try again shortly.")


def _pinned(subscription: Subscription) -> tuple[list[ProductPrice], dict]:
    rows = list(subscription.subscription_prices.select_related("product_price").order_by("created_at", "id"))
    return [row.product_price for row in rows], {row.product_price_id: row.amount for row in rows if row.amount is not None}


def _apply_switch(locked: Subscription, *, product: Product, prices: list[ProductPrice], seats: int | None, now) -> None:
    """Pin ``prices`` (and ``seats``) on the locked subscription; benefits follow a product change."""
    from billing.benefits.services import benefit_grants_sync_for

    old_product_id = locked.product_id
    _, custom_amounts = _pinned(locked)
    for row in locked.subscription_prices.all():
        row.delete()
    SubscriptionPrice.objects.bulk_create(
        [SubscriptionPrice(subscription=locked, product_price=p, amount=custom_amounts.get(p.id)) for p in prices]
    )
    locked.product = product
    locked.seats = seats
    locked.amount = _period_amount(product_name=product.name, prices=prices, seats=seats, currency=locked.currency)
    locked.modified_at = now
    locked.save()
    if product.id != old_product_id:
        benefit_grants_sync_for(customer=locked.customer, product=product, subscription_id=locked.id)


def _proration_discount(locked: Subscription) -> DiscountInput | None:
    """The discount for proration lines: the one that applies to the current period. A ``once``
    discount was used by the first order only, so it never applies to a change."""
    discount = locked.discount
    if discount is None or discount.duration == Discount.Duration.ONCE:
        return None
    if discount.duration == Discount.Duration.REPEATING and locked.discount_applied_cycles > (discount.duration_in_months or 0):
        return None
    base = order_services.discount_input_for(discount, applied_cycles=0)
    return dataclasses.replace(base, months_remaining=1 if base.duration == "repeating" else None, applies=True)


def _change(
    *,
    subscription: Subscription,
    product: Product,
    prices: list[ProductPrice],
    seats: int | None,
    proration_behavior: str,
) -> Subscription:
    if proration_behavior not in ProrationBehavior.values:
        raise _invalid("proration_behavior", f"Input should be one of {', '.join(ProrationBehavior.values)}", "enum")
    _validate_amounts(
        period_amount=_period_amount(product_name=product.name, prices=prices, seats=seats, currency=subscription.currency),
        result=None,
        seats=seats if seats != subscription.seats else None,
        field="product_id",
    )
    payment_method = None
    if proration_behavior == ProrationBehavior.INVOICE:
        payment_method = subscription.payment_method or _customer_payment_method(subscription.customer)

    with transaction.atomic():
        locked = _lock(subscription)
        _guard_change(locked)
        now = clock.now()
        if proration_behavior == ProrationBehavior.NEXT_PERIOD:
            pending = PendingSubscriptionUpdate.objects.create(
                subscription=locked,
                applies_at=locked.current_period_end,
                product=product if product.id != locked.product_id else None,
                seats=seats,
            )
            pending.prices.set(prices)
            locked.modified_at = now
            locked.save(update_fields=["modified_at"])
            _emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED)
            return locked
        if locked.status == SubscriptionStatus.TRIALING or now >= locked.current_period_end:
            if now >= locked.current_period_end:
                raise SubscriptionLocked("The subscription is due for renewal; try again after it renews.")
            # Nothing was charged for a trial: switch without proration.
            _apply_switch(locked, product=product, prices=prices, seats=seats, now=now)
            _emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED)
            return locked

        old_prices, custom_amounts = _pinned(locked)
        period = Period(locked.current_period_start, locked.current_period_end)
        tax_bps = order_services.tax_rate_bps_for(organization=locked.organization, customer=locked.customer)
        old_product_name = locked.product.name
        lines = _static_lines(
            product_name=old_product_name, prices=old_prices, seats=locked.seats, tax_bps=tax_bps,
            custom_amounts=custom_amounts, kind="credit", period=period, prorate_from=now,
        ) + _static_lines(
            product_name=product.name, prices=prices, seats=seats, tax_bps=tax_bps,
            custom_amounts=custom_amounts, period=period, prorate_from=now,
        )
        if proration_behavior == ProrationBehavior.PRORATE:
            SubscriptionProration.objects.bulk_create(
                [SubscriptionProration(subscription=locked, line_input=line.to_dict()) for line in lines]
            )
            _apply_switch(locked, product=product, prices=prices, seats=seats, now=now)
            _emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED)
            return locked

        # invoice
        pricing_input = PricingInput(period=period, currency=locked.currency, lines=lines, discount=_proration_discount(locked))
        result = price(pricing_input)
        _validate_amounts(period_amount=0, result=result, seats=seats if seats != locked.seats else None, field="product_id")
        _refuse_denied(locked.organization)
        applied = min(locked.credit_balance, max(result.total_amount, 0))
        if result.total_amount - applied > 0 and payment_method is None:
            raise _invalid("proration_behavior", "The customer has no payment method to charge the change to.")
        order = order_services.order_create(
            organization=locked.organization,
            customer=locked.customer,
            billing_reason=OrderBillingReason.SUBSCRIPTION_UPDATE,
            pricing_input=pricing_input,
            product=product,
            subscription=locked,
            discount=locked.discount if pricing_input.discount else None,
            seats=seats,
            applied_balance=applied,
            period_start=now,
            description=f"Change to {product.name}",
        )
        locked.credit_balance = locked.credit_balance - applied + result.credit_carried
        locked.save(update_fields=["credit_balance"])
        if order.status == OrderStatus.PAID:
            _apply_switch(locked, product=product, prices=prices, seats=seats, now=now)
            _emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED)
            return locked
        # Paid later: the update (applies now, linked to its order) keeps the subscription locked meanwhile.
        pending = PendingSubscriptionUpdate.objects.create(
            subscription=locked,
            applies_at=now,
            product=product if product.id != locked.product_id else None,
            seats=seats,
            order=order,
        )
        pending.prices.set(prices)

    payment = order_services.order_charge(order=order, payment_method=payment_method)
    if payment is not None and payment.status == Payment.Status.SUCCEEDED:
        # Money taken: the switch is fulfilment (subscription_change_settle), which never raises here;
        # if it fails, the sweep applies it (the pending update keeps the subscription locked meanwhile).
        from billing.fulfilment.services import order_fulfil_after_charge

        order_fulfil_after_charge(order=order)
        return Subscription.objects.get(pk=subscription.pk)
    if subscription_change_settle(pending_update=pending):
        return Subscription.objects.get(pk=subscription.pk)
    raise _payment_failed(payment)


def subscription_change_settle(*, pending_update: PendingSubscriptionUpdate) -> bool:
    """Finish an ``invoice`` change once its order's charge has an outcome; True if it was applied.

    Locks the subscription, then the update. Paid order → the new prices/seats are pinned and the
    update marked applied (``subscription.updated``); a succeeded charge not yet recorded on the order
    (found by ``payment_reconcile``) marks the order paid first. Otherwise (the charge declined, or the order is
    void) → the update is canceled, the order voided and any credit it used given back. A charge still
    pending leaves everything as it is (returns False): call again once ``payment_reconcile`` settled
    it — ``run_billing``/a sweep can do that for updates left behind by a crash. Idempotent.
    """
    with transaction.atomic():
        locked = _lock(pending_update.subscription)
        pending = PendingSubscriptionUpdate.objects.select_for_update().get(pk=pending_update.pk)
        if pending.applied_at is not None:
            return True
        if pending.canceled_at is not None or pending.order_id is None:
            return False
        order = Order.objects.select_for_update().get(pk=pending.order_id)
        now = clock.now()
        if order.status == OrderStatus.PENDING and Payment.objects.filter(order_id=order.id, status=Payment.Status.SUCCEEDED).exists():
            # A charge reconciled after a crash or timeout: record the payment first.
            order = order_services.order_mark_paid(order=order)
        if order.paid:
            pending.applied_at = now
            pending.save(update_fields=["applied_at"])
            prices = list(pending.prices.all())
            _apply_switch(locked, product=pending.product or locked.product, prices=prices, seats=pending.seats, now=now)
            _emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED)
            return True
        if Payment.objects.filter(order_id=order.id, status=Payment.Status.PENDING).exists():
            return False
        pending.canceled_at = now
        pending.save(update_fields=["canceled_at"])
        if order.status == OrderStatus.PENDING:
            order_services.order_void(order=order)
            locked.credit_balance += order.applied_balance_amount
            locked.save(update_fields=["credit_balance"])
        return False


def subscription_change_product(
    *, subscription: Subscription, product: Product | None, proration_behavior: str = ProrationBehavior.PRORATE
) -> Subscription:
    """Move the subscription to ``product`` (its current price versions, in the subscription's
    currency) with ``proration_behavior``; see the module notes. 422 for an archived, one-time or
    foreign product, another billing interval, or no price in the subscription's currency."""
    subscription = Subscription.objects.get(pk=subscription.pk)
    product = _validate_product(product, organization=subscription.organization)
    if product.id == subscription.product_id:
        raise _invalid("product_id", "The subscription is already on this product.")
    if (product.recurring_interval, product.recurring_interval_count or 1) != (
        subscription.recurring_interval,
        subscription.recurring_interval_count,
    ):
        raise _invalid("product_id", "The new product must have the same billing interval as the subscription.")
    prices = _product_prices(product, currency=subscription.currency)
    seats = subscription.seats
    if not any(p.amount_type == ProductPrice.AmountType.SEAT_BASED for p in prices):
        seats = None
    seats = _validate_seats(prices, seats)
    return _change(subscription=subscription, product=product, prices=prices, seats=seats, proration_behavior=proration_behavior)


def subscription_change_seats(
    *, subscription: Subscription, seats: int, proration_behavior: str = ProrationBehavior.PRORATE
) -> Subscription:
    """Change the seat count of a seat-based subscription (same price versions) with ``proration_behavior``.
    422 when the subscription has no seat-based price or ``seats`` is outside its tiers."""
    subscription = Subscription.objects.get(pk=subscription.pk)
    prices, _ = _pinned(subscription)
    if not any(p.amount_type == ProductPrice.AmountType.SEAT_BASED for p in prices):
        raise _invalid("seats", "Seats can only be set on a seat-based subscription.")
    seats = _validate_seats(prices, seats)
    if seats == subscription.seats:
        return subscription
    return _change(
        subscription=subscription, product=subscription.product, prices=prices, seats=seats, proration_behavior=proration_behavior
    )


def subscription_change_discount(*, subscription: Subscription, discount: Discount | None) -> Subscription:
    """Set (redeeming it) or remove the subscription's discount; it applies from the next order.
    Locks the subscription; 422 for a discount that does not apply. Emits ``subscription.updated``."""
    from billing.discounts.services import discount_redeem

    discount = _validate_discount(
        discount,
        organization=subscription.organization,
        product=subscription.product,
        customer=subscription.customer,
        currency=subscription.currency,
    )
    with transaction.atomic():
        locked = _lock(subscription)
        if locked.status == SubscriptionStatus.CANCELED:
            raise AlreadyCanceledSubscription("This subscription is already canceled.")
        if (discount and discount.id) == locked.discount_id:
            return locked
        if discount is not None:
            discount_redeem(
                discount=discount, customer=locked.customer, product=locked.product, currency=locked.currency, subscription_id=locked.id
            )
        locked.discount = discount
        locked.discount_applied_cycles = 0
        locked.modified_at = clock.now()
        locked.save(update_fields=["discount", "discount_applied_cycles", "modified_at"])
        _emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED)
    return locked


def subscription_clear_pending_update(*, subscription: Subscription) -> Subscription:
    """Drop a scheduled (``next_period``) change. Locks the subscription; idempotent."""
    with transaction.atomic():
        locked = _lock(subscription)
        pending = _open_pending_update(locked)
        if pending is not None:
            if pending.order_id is not None:
                raise SubscriptionLocked("This change is being paid for and cannot be cleared.")
            _cancel_pending_update(locked, clock.now())
            _emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED)
    return locked


# --- for the renewal cycle ------------------------------------------------------------------------


def subscription_static_lines(*, subscription: Subscription, tax_rate_bps: int, period: Period | None = None) -> list:
    """The fixed/custom/seat ``LineInput``s of one full period of the subscription's pinned price
    versions (metered prices excluded: usage is billed in arrears by the renewal)."""
    prices, custom_amounts = _pinned(subscription)
    return _static_lines(
        product_name=subscription.product.name,
        prices=prices,
        seats=subscription.seats,
        tax_bps=tax_rate_bps,
        custom_amounts=custom_amounts,
        period=period,
    )


def subscription_apply_pending_update(*, subscription: Subscription, at) -> PendingSubscriptionUpdate | None:
    """Apply the open ``next_period`` update of a subscription whose row the caller has locked (the
    renewal, inside its transaction), if it is due at ``at``. Pins its prices/seats/product, marks it
    applied, emits ``subscription.updated``; returns it (None when there was nothing to apply). An
    update tied to an order (an ``invoice`` change being paid for) is never applied here: see
    ``subscription_change_settle``."""
    pending = (
        PendingSubscriptionUpdate.objects.select_for_update()
        .filter(subscription=subscription, applied_at__isnull=True, canceled_at__isnull=True, order__isnull=True, applies_at__lte=at)
        .first()
    )
    if pending is None:
        return None
    now = clock.now()
    _apply_switch(subscription, product=pending.product or subscription.product, prices=list(pending.prices.all()), seats=pending.seats, now=now)
    pending.applied_at = now
    pending.modified_at = now
    pending.save(update_fields=["applied_at", "modified_at"])
    _emit(subscription, WebhookEventType.SUBSCRIPTION_UPDATED)
    return pending
