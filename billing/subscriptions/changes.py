"""Changing a running subscription: its product or seats (with a proration behaviour), its discount,
and the change scheduled for the next period.

Plan changes (``proration_behavior``):
- ``invoice``: the unused time of the old prices is credited and the new prices charged for the rest
  of the period, by the second, in a ``subscription_update`` order charged now. The switch is applied
  only when that order is paid (fulfilment, ``services.subscription_change_settle``); a decline voids
  the order, keeps the old plan and raises ``PaymentFailed``. A net credit (a downgrade) is kept in
  ``credit_balance`` and taken off later orders.
- ``prorate``: the same lines are stored as ``SubscriptionProration`` rows that the next renewal
  order bills; the switch is immediate.
- ``next_period``: a ``PendingSubscriptionUpdate`` the renewal applies at ``current_period_end``
  (``services.subscription_apply_pending_update``).

Every change locks the subscription and refuses (``SubscriptionLocked``) while a charge is in flight
or another change is scheduled.
"""

from __future__ import annotations

import dataclasses

from django.db import transaction

from billing.discounts.services import discount_redeem
from billing.fulfilment.services import order_fulfil_after_charge
from billing.models import (
    Discount,
    OrderBillingReason,
    OrderStatus,
    Payment,
    PendingSubscriptionUpdate,
    Product,
    ProductPrice,
    ProrationBehavior,
    Subscription,
    SubscriptionProration,
    SubscriptionStatus,
)
from billing.orders import services as order_services
from billing.payments.selectors import payment_method_default
from billing.payments.services import PaymentFailed
from billing.pricing import DiscountInput, Period, PricingInput, price
from billing.subscriptions.services import (
    AlreadyCanceledSubscription,
    SubscriptionLocked,
    invalid_field,
    open_pending_update,
    payment_in_flight,
    pending_update_cancel,
    pinned_prices,
    product_prices_in_currency,
    refuse_denied_organization,
    static_price_lines,
    subscription_change_settle,
    subscription_emit,
    subscription_lock,
    subscription_period_amount,
    subscription_switch_plan,
    validate_amounts,
    validate_discount,
    validate_seats,
    validate_subscription_product,
    validate_units,
)
from polar import clock
from polar.webhooks.events import WebhookEventType


def _guard_change(locked: Subscription) -> None:
    if locked.status == SubscriptionStatus.CANCELED:
        raise AlreadyCanceledSubscription("This subscription is already canceled.")
    if locked.cancel_at_period_end:
        raise AlreadyCanceledSubscription("This subscription is set to cancel at the end of the period; uncancel it first.")
    if locked.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
        raise SubscriptionLocked(f"A {locked.status} subscription cannot be changed.")
    if open_pending_update(locked) is not None:
        raise SubscriptionLocked("A change is already scheduled for this subscription.")
    if payment_in_flight(locked):
        raise SubscriptionLocked("A payment for this subscription is in progress; try again shortly.")


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
    units: int | None = None,
) -> Subscription:
    if proration_behavior not in ProrationBehavior.values:
        raise invalid_field("proration_behavior", f"Input should be one of {', '.join(ProrationBehavior.values)}", "enum")
    validate_amounts(
        period_amount=subscription_period_amount(
            product_name=product.name, prices=prices, seats=seats, currency=subscription.currency, units=units
        ),
        result=None,
        seats=seats if seats != subscription.seats else None,
        field="product_id",
    )
    payment_method = None
    if proration_behavior == ProrationBehavior.INVOICE:
        payment_method = subscription.payment_method or payment_method_default(customer=subscription.customer)

    with transaction.atomic():
        locked = subscription_lock(subscription)
        _guard_change(locked)
        now = clock.now()
        if proration_behavior == ProrationBehavior.NEXT_PERIOD:
            pending = PendingSubscriptionUpdate.objects.create(
                subscription=locked,
                applies_at=locked.current_period_end,
                product=product if product.id != locked.product_id else None,
                seats=seats,
                units=units,
            )
            pending.prices.set(prices)
            locked.modified_at = now
            locked.save(update_fields=["modified_at"])
            subscription_emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED)
            return locked
        if locked.status == SubscriptionStatus.TRIALING or now >= locked.current_period_end:
            if now >= locked.current_period_end:
                raise SubscriptionLocked("The subscription is due for renewal; try again after it renews.")
            # Nothing was charged for a trial: switch without proration.
            subscription_switch_plan(locked, product=product, prices=prices, seats=seats, units=units, now=now)
            subscription_emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED)
            return locked

        old_prices, custom_amounts = pinned_prices(locked)
        period = Period(locked.current_period_start, locked.current_period_end)
        tax_bps = order_services.tax_rate_bps_for(organization=locked.organization, customer=locked.customer)
        old_product_name = locked.product.name
        lines = static_price_lines(
            product_name=old_product_name,
            prices=old_prices,
            seats=locked.seats,
            units=locked.units,
            tax_bps=tax_bps,
            custom_amounts=custom_amounts,
            kind="credit",
            period=period,
            prorate_from=now,
        ) + static_price_lines(
            product_name=product.name,
            prices=prices,
            seats=seats,
            units=units,
            tax_bps=tax_bps,
            custom_amounts=custom_amounts,
            period=period,
            prorate_from=now,
        )
        if proration_behavior == ProrationBehavior.PRORATE:
            SubscriptionProration.objects.bulk_create(
                [SubscriptionProration(subscription=locked, line_input=line.to_dict()) for line in lines]
            )
            subscription_switch_plan(locked, product=product, prices=prices, seats=seats, units=units, now=now)
            subscription_emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED)
            return locked

        # invoice
        pricing_input = PricingInput(period=period, currency=locked.currency, lines=lines, discount=_proration_discount(locked))
        result = price(pricing_input)
        validate_amounts(period_amount=0, result=result, seats=seats if seats != locked.seats else None, field="product_id")
        refuse_denied_organization(locked.organization)
        applied = min(locked.credit_balance, max(result.total_amount, 0))
        if result.total_amount - applied > 0 and payment_method is None:
            raise invalid_field("proration_behavior", "The customer has no payment method to charge the change to.")
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
            subscription_switch_plan(locked, product=product, prices=prices, seats=seats, units=units, now=now)
            subscription_emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED)
            return locked
        # Paid later: the update (applies now, linked to its order) keeps the subscription locked meanwhile.
        pending = PendingSubscriptionUpdate.objects.create(
            subscription=locked,
            applies_at=now,
            product=product if product.id != locked.product_id else None,
            seats=seats,
            units=units,
            order=order,
        )
        pending.prices.set(prices)

    payment = order_services.order_charge(order=order, payment_method=payment_method)
    if payment is not None and payment.status == Payment.Status.SUCCEEDED:
        # Money taken: the switch is fulfilment (subscription_change_settle), which never raises here;
        # if it fails, the sweep applies it (the pending update keeps the subscription locked meanwhile).
        order_fulfil_after_charge(order=order)
        return Subscription.objects.get(pk=subscription.pk)
    if subscription_change_settle(pending_update=pending):
        return Subscription.objects.get(pk=subscription.pk)
    raise PaymentFailed.for_payment(payment)


def subscription_change_product(
    *, subscription: Subscription, product: Product | None, proration_behavior: str = ProrationBehavior.PRORATE
) -> Subscription:
    """Move the subscription to ``product`` (its current price versions, in the subscription's
    currency) with ``proration_behavior``; see the module notes. 422 for an archived, one-time or
    foreign product, another billing interval, or no price in the subscription's currency."""
    subscription = Subscription.objects.get(pk=subscription.pk)
    product = validate_subscription_product(product, organization=subscription.organization)
    if product.id == subscription.product_id:
        raise invalid_field("product_id", "The subscription is already on this product.")
    if (product.recurring_interval, product.recurring_interval_count or 1) != (
        subscription.recurring_interval,
        subscription.recurring_interval_count,
    ):
        raise invalid_field("product_id", "The new product must have the same billing interval as the subscription.")
    prices = product_prices_in_currency(product, currency=subscription.currency)
    seats = subscription.seats
    if not any(p.amount_type == ProductPrice.AmountType.SEAT_BASED for p in prices):
        seats = None
    seats = validate_seats(prices, seats)
    units = subscription.units
    if not any(p.amount_type == ProductPrice.AmountType.UNIT_BASED for p in prices):
        units = None
    units = validate_units(prices, units, field="product_id")
    return _change(
        subscription=subscription, product=product, prices=prices, seats=seats, units=units, proration_behavior=proration_behavior
    )


def subscription_change_seats(
    *, subscription: Subscription, seats: int, proration_behavior: str = ProrationBehavior.PRORATE
) -> Subscription:
    """Change the seat count of a seat-based subscription (same price versions) with ``proration_behavior``.
    422 when the subscription has no seat-based price or ``seats`` is outside its tiers."""
    subscription = Subscription.objects.get(pk=subscription.pk)
    prices, _ = pinned_prices(subscription)
    if not any(p.amount_type == ProductPrice.AmountType.SEAT_BASED for p in prices):
        raise invalid_field("seats", "Seats can only be set on a seat-based subscription.")
    seats = validate_seats(prices, seats)
    if seats == subscription.seats:
        return subscription
    return _change(
        subscription=subscription,
        product=subscription.product,
        prices=prices,
        seats=seats,
        units=subscription.units,
        proration_behavior=proration_behavior,
    )


def subscription_change_units(
    *, subscription: Subscription, units: int, proration_behavior: str = ProrationBehavior.PRORATE
) -> Subscription:
    """Change the quantity of a unit_based subscription (same price versions) with ``proration_behavior``,
    exactly as seats change: ``prorate`` credits the unused time of the old quantity and charges the
    new one for the rest of the period (one line per tier reached, each rounded once) on the next
    order; ``invoice`` charges it now; ``next_period`` schedules it. 422 when the subscription has no
    unit_based price or ``units`` is outside ``[minimum_units, maximum_units]``."""
    subscription = Subscription.objects.get(pk=subscription.pk)
    prices, _ = pinned_prices(subscription)
    if not any(p.amount_type == ProductPrice.AmountType.UNIT_BASED for p in prices):
        raise invalid_field("units", "Units can only be set on a unit-based subscription.")
    units = validate_units(prices, units)
    if units == subscription.units:
        return subscription
    return _change(
        subscription=subscription,
        product=subscription.product,
        prices=prices,
        seats=subscription.seats,
        units=units,
        proration_behavior=proration_behavior,
    )


def subscription_change_discount(*, subscription: Subscription, discount: Discount | None) -> Subscription:
    """Set (redeeming it) or remove the subscription's discount; it applies from the next order.
    Locks the subscription; 422 for a discount that does not apply. Emits ``subscription.updated``."""
    discount = validate_discount(
        discount,
        organization=subscription.organization,
        product=subscription.product,
        customer=subscription.customer,
        currency=subscription.currency,
    )
    with transaction.atomic():
        locked = subscription_lock(subscription)
        if locked.status == SubscriptionStatus.CANCELED:
            raise AlreadyCanceledSubscription("This subscription is already canceled.")
        if (discount and discount.id) == locked.discount_id:
            return locked
        if discount is not None:
            discount_redeem(
                discount=discount,
                customer=locked.customer,
                product=locked.product,
                currency=locked.currency,
                subscription_id=locked.id,
            )
        locked.discount = discount
        locked.discount_applied_cycles = 0
        locked.modified_at = clock.now()
        locked.save(update_fields=["discount", "discount_applied_cycles", "modified_at"])
        subscription_emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED)
    return locked


def subscription_clear_pending_update(*, subscription: Subscription) -> Subscription:
    """Drop a scheduled (``next_period``) change. Locks the subscription; idempotent."""
    with transaction.atomic():
        locked = subscription_lock(subscription)
        pending = open_pending_update(locked)
        if pending is not None:
            if pending.order_id is not None:
                raise SubscriptionLocked("This change is being paid for and cannot be cleared.")
            pending_update_cancel(locked, clock.now())
            subscription_emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED)
    return locked


# --- for the renewal cycle ------------------------------------------------------------------------
