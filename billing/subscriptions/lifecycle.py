"""A subscription's life, as the merchant and the customer ask for it: create (and charge the first
period), pay a first order that was declined, cancel at the period end, uncancel, revoke now.

Charges happen **outside** the transactions that hold locks: a first transaction writes the
subscription and its pending order (the crash marker), ``order_charge`` calls the processor with the
order-derived idempotency key, and what the paid order delivers (``active``, benefits, the checkout) is
fulfilment (``billing.fulfilment.services.order_fulfil_after_charge``), which never raises after a
charge (docs/fulfilment.md).

A declined first charge (``subscription_create``) leaves the subscription ``incomplete`` with its
``subscription_create`` order ``pending`` (never ``paid``), no benefit granted, and raises
``PaymentFailed``. The rows stay (the invoice number is gapless and the failed ``Payment`` points at
the order): a checkout confirmed again with another card charges that same order
(``subscription_pay_first_order``) instead of creating a second subscription.

The rules and the transitions others finish with (activation, the end at a period boundary) are in
``billing.subscriptions.services``; states and errors are described there.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from billing.discounts.services import discount_redeem
from billing.fulfilment.services import order_fulfil_after_charge
from billing.models import (
    Checkout,
    Discount,
    Order,
    OrderBillingReason,
    OrderStatus,
    Payment,
    PaymentMethod,
    Product,
    ProductPrice,
    Subscription,
    SubscriptionPrice,
    SubscriptionStatus,
)
from billing.orders import services as order_services
from billing.payments.selectors import payment_method_default
from billing.payments.services import PaymentFailed
from billing.pricing import Period, PricingInput, next_period_end, price
from billing.subscriptions.services import (
    AlreadyCanceledSubscription,
    SubscriptionLocked,
    invalid_field,
    payment_in_flight,
    pending_update_cancel,
    product_prices_in_currency,
    refuse_denied_organization,
    static_price_lines,
    subscription_activate_locked,
    subscription_activate_paid,
    subscription_benefits_grant,
    subscription_emit,
    subscription_ended,
    subscription_lock,
    subscription_period_amount,
    validate_amounts,
    validate_discount,
    validate_payment_method,
    validate_seats,
    validate_subscription_product,
    validate_units,
)
from polar import clock
from polar.webhooks.events import WebhookEventType


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
    units: int | None = None,
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
    refuse_denied_organization(organization)
    if customer.organization_id != organization.id or customer.deleted_at is not None:
        raise invalid_field("customer_id", "Customer does not exist.")
    validate_subscription_product(product, organization=organization)
    prices = product_prices_in_currency(product, currency=currency)
    currency = prices[0].price_currency
    seats = validate_seats(prices, seats)
    units = validate_units(prices, units)
    discount = validate_discount(discount, organization=organization, product=product, customer=customer, currency=currency)
    payment_method = validate_payment_method(payment_method, customer=customer) or payment_method_default(customer=customer)
    now = clock.now()
    if trial_end is not None and trial_end <= now:
        raise invalid_field("trial_end", "Trial end must be in the future.")
    custom_amounts = {}
    for p in prices:
        if p.amount_type == ProductPrice.AmountType.CUSTOM and custom_amount is not None:
            if custom_amount < (p.minimum_amount or 0) or (p.maximum_amount is not None and custom_amount > p.maximum_amount):
                raise invalid_field("amount", "Amount is outside the price's bounds.")
            custom_amounts[p.id] = custom_amount

    interval, count = product.recurring_interval, product.recurring_interval_count or 1
    if trial_end is not None:
        period = Period(now, trial_end)
        anchor_day = trial_end.day
    else:
        period = Period(now, next_period_end(now, interval, count))
        anchor_day = now.day
    tax_bps = order_services.tax_rate_bps_for(organization=organization, customer=customer)
    period_amount = subscription_period_amount(
        product_name=product.name, prices=prices, seats=seats, currency=currency, custom_amounts=custom_amounts, units=units
    )
    pricing_input = None
    result = None
    if trial_end is None:
        lines = static_price_lines(
            product_name=product.name, prices=prices, seats=seats, tax_bps=tax_bps, custom_amounts=custom_amounts, units=units
        )
        pricing_input = PricingInput(
            period=period,
            currency=currency,
            lines=lines,
            discount=order_services.discount_input_for(discount, first_order=True),
        )
        result = price(pricing_input) if lines else None
        if result is not None and result.amount_due > 0 and payment_method is None:
            raise invalid_field("payment_method_id", "A payment method is required for a paid product.", "missing")
    # Every bound is checked before the first write: a 422 never leaves a subscription or an order behind.
    validate_amounts(period_amount=period_amount, result=result, seats=seats, field="amount")

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
            units=units,
            payment_method=payment_method,
            checkout=checkout,
            metadata=metadata or {},
            custom_field_data=getattr(checkout, "custom_field_data", None) or {},
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
            subscription_benefits_grant(subscription)
        elif order.status == OrderStatus.PAID:
            subscription_activate_locked(subscription, now=now, emit=False)
        subscription_emit(subscription, WebhookEventType.SUBSCRIPTION_CREATED)
        if subscription.status == SubscriptionStatus.ACTIVE:
            subscription_emit(subscription, WebhookEventType.SUBSCRIPTION_ACTIVE)

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
    subscription.refresh_from_db()
    if subscription.status != SubscriptionStatus.INCOMPLETE:
        return subscription
    order = Order.objects.filter(subscription=subscription, billing_reason=OrderBillingReason.SUBSCRIPTION_CREATE).first()
    if order is not None and order.status == OrderStatus.PENDING:
        payment_method = validate_payment_method(payment_method, customer=subscription.customer)
        if payment_method is not None and subscription.payment_method_id != payment_method.id:
            with transaction.atomic():
                locked = subscription_lock(subscription)
                locked.payment_method = payment_method
                locked.save(update_fields=["payment_method"])
        payment = order_services.order_charge(order=order, payment_method=payment_method)
        if payment is not None and payment.status != Payment.Status.SUCCEEDED:
            raise PaymentFailed.for_payment(payment)
    if order is not None:
        # Money was taken (now, or by an earlier attempt): fulfil, never raise.
        order_fulfil_after_charge(order=order)
    else:
        subscription_activate_paid(subscription=subscription)
    subscription.refresh_from_db()
    return subscription


def subscription_cancel(
    *,
    subscription: Subscription,
    customer_cancellation_reason: str | None = None,
    customer_cancellation_comment: str | None = None,
) -> Subscription:
    """Schedule the end of the subscription at ``current_period_end`` (benefits kept until then).

    Locks the subscription. Raises ``AlreadyCanceledSubscription`` if it has ended or is already set to
    cancel. A subscription that never started (``incomplete``, ``unpaid``) has no period to finish and
    is ended at once (as ``subscription_revoke``). A scheduled plan change is dropped. Emits
    ``subscription.updated`` and ``subscription.canceled``.
    """
    with transaction.atomic():
        locked = subscription_lock(subscription)
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
        pending_update_cancel(locked, now)
        subscription_emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED, WebhookEventType.SUBSCRIPTION_CANCELED)
    return locked


def subscription_uncancel(*, subscription: Subscription) -> Subscription:
    """Undo ``subscription_cancel`` before the period ends. Locks the subscription.

    Raises ``AlreadyCanceledSubscription`` once it has ended. Idempotent: a subscription not set to
    cancel is returned unchanged and nothing is emitted. Emits ``subscription.updated`` and
    ``subscription.uncanceled``.
    """
    with transaction.atomic():
        locked = subscription_lock(subscription)
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
        subscription_emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED, WebhookEventType.SUBSCRIPTION_UNCANCELED)
    return locked


def subscription_revoke(
    *,
    subscription: Subscription,
    customer_cancellation_reason: str | None = None,
    customer_cancellation_comment: str | None = None,
) -> Subscription:
    """End the subscription now: status ``canceled``, ``ended_at`` now, benefits revoked.

    Locks the subscription. Raises ``AlreadyCanceledSubscription`` if it has already ended and
    ``SubscriptionLocked`` while one of its charges is in flight (a ``pending`` payment). No refund is
    made. Emits ``subscription.updated``, ``subscription.canceled`` (unless it was already scheduled
    to cancel, which emitted it then) and ``subscription.revoked``.
    """
    with transaction.atomic():
        locked = subscription_lock(subscription)
        if locked.status == SubscriptionStatus.CANCELED:
            raise AlreadyCanceledSubscription("This subscription is already canceled.")
        if payment_in_flight(locked):
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
    pending_update_cancel(locked, now)
    subscription_ended(locked)  # its grants, and its seats with their holders' grants
    events = [WebhookEventType.SUBSCRIPTION_UPDATED]
    if not was_scheduled:
        events.append(WebhookEventType.SUBSCRIPTION_CANCELED)
    events.append(WebhookEventType.SUBSCRIPTION_REVOKED)
    subscription_emit(locked, *events)
    return locked
