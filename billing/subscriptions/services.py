"""Subscriptions: the rules every subscription change follows, and the transitions that finish what a
charge or a renewal started.

The requests live next door: ``lifecycle`` (create, pay the first order, cancel, uncancel, revoke) and
``changes`` (plan, seats, discount, scheduled changes). This module is below them and below
``billing.fulfilment`` and ``billing.renewals``, which call the transitions here:

- ``subscription_activate_paid``: what a paid first order delivers (fulfilment);
- ``subscription_change_settle``: an ``invoice`` change once its charge has an outcome (fulfilment);
- ``subscription_recover_if_settled``: ``past_due`` → ``active`` once nothing is unpaid (renewals, the
  fulfilment sweep);
- ``subscription_end``, ``subscription_apply_pending_update``: the renewal at a period boundary.

Every transition locks the subscription row (``select_for_update``) before reading the state it decides
on, and emits its webhooks through ``subscription_emit`` (an outbox row in the same transaction). It
imports neither fulfilment nor renewals.

States (Polar's): ``incomplete`` (created, first charge not successful: nothing granted) → ``active``
(first order paid) or ``trialing`` (no charge until the trial ends); ``active`` → ``past_due``/``unpaid``
(renewals and dunning) → ``canceled`` (revoked now, or at the end of the period when
``cancel_at_period_end``). Illegal transitions raise Polar's errors: ``AlreadyCanceledSubscription``
(403), ``SubscriptionLocked`` (409: a charge in flight, a change already scheduled, a status that
cannot change), ``PaymentFailed`` (402, a declined charge).
"""

from __future__ import annotations

import datetime as dt

import structlog
from django.db import transaction

from billing import metrics as billing_metrics
from billing.benefits import services as benefit_services
from billing.discounts.services import discount_unusable_reason
from billing.models import (
    Discount,
    Order,
    OrderStatus,
    Payment,
    PaymentMethod,
    PendingSubscriptionUpdate,
    Product,
    ProductPrice,
    Subscription,
    SubscriptionPrice,
    SubscriptionStatus,
)
from billing.orders import services as order_services
from billing.pricing import Period, PricingInput, price
from billing.subscriptions.payloads import SubscriptionOutput
from polar import clock
from polar.errors import PolarError, PolarRequestValidationError
from polar.money import MAX_AMOUNT
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


def invalid_field(field: str, msg: str, type_: str = "value_error"):
    return PolarRequestValidationError.single(["body", field], msg, type_)


def subscription_emit(subscription: Subscription, *events: WebhookEventType) -> None:

    fresh = Subscription.objects.select_related("customer", "product", "discount").get(pk=subscription.pk)
    data = SubscriptionOutput(fresh).data
    for event in events:
        webhook_event_emit(organization=fresh.organization, type=event, data=data)


def subscription_lock(subscription: Subscription) -> Subscription:
    return Subscription.objects.select_for_update().get(pk=subscription.pk)


# --- validation (before anything is written) ---------------------------------------------------------------------------


def product_prices_in_currency(product: Product, *, currency: str | None, field: str = "product_id") -> list[ProductPrice]:
    """The product's active price versions in one currency (the one asked, else the static price's)."""
    prices = list(product.all_prices.filter(is_archived=False).order_by("created_at", "id"))
    if not prices:
        raise invalid_field(field, "Product has no active price.")
    if currency is None:
        static = [p for p in prices if p.is_static]
        currencies = {p.price_currency for p in static} or {p.price_currency for p in prices}
        currency = "usd" if "usd" in currencies else sorted(currencies)[0]
    chosen = [p for p in prices if p.price_currency == currency]
    if not chosen:
        raise invalid_field(field, f"Product has no price in {currency.upper()}.")
    return chosen


def validate_subscription_product(product: Product | None, *, organization, field: str = "product_id") -> Product:
    if product is None or product.organization_id != organization.id:
        raise invalid_field(field, "Product does not exist.")
    if product.is_archived:
        raise invalid_field(field, "Product is archived.")
    if not product.is_recurring:
        raise invalid_field(field, "Product is not a subscription product.")
    return product


def validate_seats(prices: list[ProductPrice], seats: int | None) -> int | None:
    seat_prices = [p for p in prices if p.amount_type == ProductPrice.AmountType.SEAT_BASED]
    if not seat_prices:
        if seats is not None:
            raise invalid_field("seats", "Seats can only be set on a seat-based product.")
        return None
    price_ = seat_prices[0]
    minimum = price_.minimum_seats or 1
    if seats is None:
        return minimum
    maximum = price_.maximum_seats if price_.maximum_seats is not None else MAX_SEATS
    maximum = min(maximum, MAX_SEATS)
    if seats < minimum or seats > maximum:
        raise invalid_field("seats", f"Seats must be between {minimum} and {maximum}.", "value_error")
    return seats


def validate_units(prices: list[ProductPrice], units: int | None, *, field: str = "units") -> int | None:
    """The quantity of a unit_based price: ``minimum_units`` when not given, else within
    ``[minimum_units, maximum_units]`` (422 on ``field`` otherwise); None without such a price."""
    unit_prices = [p for p in prices if p.amount_type == ProductPrice.AmountType.UNIT_BASED]
    if not unit_prices:
        if units is not None:
            raise invalid_field(field, "Units can only be set on a unit-based product.")
        return None
    price_ = unit_prices[0]
    minimum = price_.minimum_units or 1
    if units is None:
        return minimum
    maximum = min(price_.maximum_units if price_.maximum_units is not None else MAX_SEATS, MAX_SEATS)
    if units < minimum or units > maximum:
        raise invalid_field(field, f"Units must be between {minimum} and {maximum}.", "value_error")
    return units


def validate_product_units(product: Product, currency: str, units: int | None) -> int | None:
    """``validate_units`` on ``product``'s active prices in ``currency`` (checkouts: one-time or recurring)."""
    return validate_units(list(product.all_prices.filter(is_archived=False, price_currency=currency)), units)


# The most seats a subscription can hold (what the database column stores); the amount ceiling
# (``polar.money.MAX_AMOUNT``, checked by ``validate_amounts``) usually bites first.
MAX_SEATS = 2_147_483_647


def validate_amounts(*, period_amount: int, result, seats: int | None, field: str = "seats") -> None:
    """422 before anything is written when an amount would exceed what can be charged."""
    amounts = [period_amount] + ([result.total_amount, result.subtotal_amount] if result is not None else [])
    if any(amount > MAX_AMOUNT for amount in amounts):
        loc = "seats" if seats is not None else field
        raise invalid_field(loc, f"The amount would exceed the maximum of {MAX_AMOUNT} in minor units.", "value_error")


def refuse_denied_organization(organization) -> None:
    """A denied organization takes no new money (its open checkouts and API calls are refused)."""
    if not organization.can_use_api():
        raise OrganizationNotAcceptingPayments("This organization cannot accept payments.")


def validate_payment_method(payment_method: PaymentMethod | None, *, customer) -> PaymentMethod | None:
    if payment_method is None:
        return None
    if (
        payment_method.organization_id != customer.organization_id
        or payment_method.customer_id != customer.id
        or payment_method.deleted_at is not None
    ):
        raise invalid_field("payment_method_id", "Payment method not found for this customer.")
    return payment_method


def validate_discount(discount: Discount | None, *, organization, product, customer, currency) -> Discount | None:
    if discount is None:
        return None
    if discount.organization_id != organization.id:
        raise invalid_field("discount_id", "Discount does not exist.")
    problem = discount_unusable_reason(discount=discount, product=product, customer=customer, currency=currency)
    if problem is not None:
        raise invalid_field("discount_id", problem[1])
    return discount


def static_price_lines(
    *, product_name, prices, seats, tax_bps, custom_amounts=None, kind="charge", period=None, prorate_from=None, units=None
):
    custom_amounts = custom_amounts or {}
    return [
        order_services.line_for(
            p,
            product_name=product_name,
            tax_rate_bps=tax_bps,
            seats=seats,
            units=units,
            custom_amount=custom_amounts.get(p.id),
            kind=kind,
            period=period,
            prorate_from=prorate_from,
            label_prefix="Unused time on " if kind == "credit" else ("Remaining time on " if prorate_from else ""),
        )
        for p in prices
        if p.is_static
    ]


def subscription_period_amount(*, product_name, prices, seats, currency, custom_amounts=None, units=None) -> int:
    """What the static prices cost for one whole period, before discount and tax (``Subscription.amount``)."""
    now = clock.now()
    lines = static_price_lines(
        product_name=product_name, prices=prices, seats=seats, tax_bps=0, custom_amounts=custom_amounts, units=units
    )
    if not lines:
        return 0
    return price(PricingInput(period=Period(now, now + dt.timedelta(days=1)), currency=currency, lines=lines)).subtotal_amount


# --- activation ---------------------------------------------------------------------------------------


def subscription_activate_paid(*, subscription: Subscription) -> Subscription:
    """What a paid first order delivers: ``incomplete`` → ``active`` (``started_at``, benefits granted,
    ``subscription.updated`` + ``subscription.active``). Locks the subscription. Idempotent: an
    active (or trialing, past due) subscription only gets the benefits it is missing; an ended one is
    left as it is. Used by ``subscription_pay_first_order`` and the fulfilment sweep."""
    with transaction.atomic():
        locked = subscription_lock(subscription)
        if locked.status == SubscriptionStatus.INCOMPLETE:
            subscription_activate_locked(locked, now=clock.now(), emit=True)
        elif locked.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE):
            subscription_benefits_grant(locked)
    return locked


def subscription_benefits_grant(subscription: Subscription) -> None:
    benefit_services.benefit_grants_create_for(
        customer=subscription.customer, product=subscription.product, subscription_id=subscription.id
    )


def subscription_benefits_revoke(subscription: Subscription) -> None:
    benefit_services.benefit_grants_revoke_for(customer=subscription.customer, subscription_id=subscription.id)


# What else ends with a subscription, from packages this one must not import (they import it): the seats and
# their holders' grants (``billing.seats``). Installed by ``billing.apps``; each is called with the ended
# subscription, still locked, inside the transaction that ends it, and must be idempotent.
SUBSCRIPTION_ENDED_HOOKS: list = []


def subscription_ended(subscription: Subscription) -> None:
    """A subscription just ended (revoked now, or canceled at its period end): revoke its customer's grants,
    then run the ``SUBSCRIPTION_ENDED_HOOKS``. Call it with the row locked, in the ending transaction."""
    subscription_benefits_revoke(subscription)
    for hook in SUBSCRIPTION_ENDED_HOOKS:
        hook(subscription)


def subscription_activate_locked(subscription: Subscription, *, now, emit: bool) -> None:
    """incomplete → active, with the row already locked by the caller."""
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.started_at = subscription.started_at or now
    subscription.modified_at = now
    subscription.save(update_fields=["status", "started_at", "modified_at"])
    subscription_benefits_grant(subscription)
    if emit:
        subscription_emit(subscription, WebhookEventType.SUBSCRIPTION_UPDATED, WebhookEventType.SUBSCRIPTION_ACTIVE)


# --- scheduled changes and the end -----------------------------------------------------------------------


def open_pending_update(subscription: Subscription) -> PendingSubscriptionUpdate | None:
    return PendingSubscriptionUpdate.objects.filter(
        subscription=subscription, applied_at__isnull=True, canceled_at__isnull=True
    ).first()


def payment_in_flight(subscription: Subscription) -> bool:
    return Payment.objects.filter(order__subscription=subscription, status=Payment.Status.PENDING).exists()


def pending_update_cancel(subscription: Subscription, now) -> None:
    pending = open_pending_update(subscription)
    if pending is not None:
        pending.canceled_at = now
        pending.modified_at = now
        pending.save(update_fields=["canceled_at", "modified_at"])


def subscription_end(*, subscription: Subscription) -> Subscription:
    """For the renewal cycle: end a subscription that was set to cancel, at its period end.

    The caller holds the row lock (claimed with ``select_for_update(skip_locked=True)``) inside its
    transaction. Status ``canceled``, ``ended_at = current_period_end``, benefits revoked (the seat holders'
    too, through ``subscription_ended``), emits
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
    pending_update_cancel(subscription, now)
    subscription_ended(subscription)
    subscription_emit(subscription, WebhookEventType.SUBSCRIPTION_UPDATED, WebhookEventType.SUBSCRIPTION_REVOKED)
    return subscription


# --- plan switches ------------------------------------------------------------------------------------


def pinned_prices(subscription: Subscription) -> tuple[list[ProductPrice], dict]:
    rows = list(subscription.subscription_prices.select_related("product_price").order_by("created_at", "id"))
    return [row.product_price for row in rows], {row.product_price_id: row.amount for row in rows if row.amount is not None}


def subscription_switch_plan(
    locked: Subscription, *, product: Product, prices: list[ProductPrice], seats: int | None, now, units: int | None = None
) -> None:
    """Pin ``prices`` (and ``seats``, ``units``) on the locked subscription; benefits follow a product change."""
    old_product_id = locked.product_id
    _, custom_amounts = pinned_prices(locked)
    for row in locked.subscription_prices.all():
        row.delete()
    SubscriptionPrice.objects.bulk_create(
        [SubscriptionPrice(subscription=locked, product_price=p, amount=custom_amounts.get(p.id)) for p in prices]
    )
    locked.product = product
    locked.seats = seats
    locked.units = units
    locked.amount = subscription_period_amount(
        product_name=product.name, prices=prices, seats=seats, currency=locked.currency, units=units
    )
    locked.modified_at = now
    locked.save()
    if product.id != old_product_id:
        benefit_services.benefit_grants_sync_for(customer=locked.customer, product=product, subscription_id=locked.id)


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
        locked = subscription_lock(pending_update.subscription)
        pending = PendingSubscriptionUpdate.objects.select_for_update().get(pk=pending_update.pk)
        if pending.applied_at is not None:
            return True
        if pending.canceled_at is not None or pending.order_id is None:
            return False
        order = Order.objects.select_for_update().get(pk=pending.order_id)
        now = clock.now()
        if (
            order.status == OrderStatus.PENDING
            and Payment.objects.filter(order_id=order.id, status=Payment.Status.SUCCEEDED).exists()
        ):
            # A charge reconciled after a crash or timeout: record the payment first.
            order = order_services.order_mark_paid(order=order)
        if order.paid:
            pending.applied_at = now
            pending.save(update_fields=["applied_at"])
            prices = list(pending.prices.all())
            subscription_switch_plan(
                locked,
                product=pending.product or locked.product,
                prices=prices,
                seats=pending.seats,
                now=now,
                units=pending.units,
            )
            subscription_emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED)
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


def subscription_static_lines(*, subscription: Subscription, tax_rate_bps: int, period: Period | None = None) -> list:
    """The fixed/custom/seat ``LineInput``s of one full period of the subscription's pinned price
    versions (metered prices excluded: usage is billed in arrears by the renewal)."""
    prices, custom_amounts = pinned_prices(subscription)
    return static_price_lines(
        product_name=subscription.product.name,
        prices=prices,
        seats=subscription.seats,
        units=subscription.units,
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
        .filter(
            subscription=subscription, applied_at__isnull=True, canceled_at__isnull=True, order__isnull=True, applies_at__lte=at
        )
        .first()
    )
    if pending is None:
        return None
    now = clock.now()
    subscription_switch_plan(
        subscription,
        product=pending.product or subscription.product,
        prices=list(pending.prices.all()),
        seats=pending.seats,
        units=pending.units,
        now=now,
    )
    pending.applied_at = now
    pending.modified_at = now
    pending.save(update_fields=["applied_at", "modified_at"])
    subscription_emit(subscription, WebhookEventType.SUBSCRIPTION_UPDATED)
    return pending


def subscription_recover_if_settled(*, subscription: Subscription) -> bool:
    """``past_due`` → ``active`` once no order of the subscription is left unpaid (locks it;
    idempotent). True if it did. The renewal charge does it at once; the fulfilment sweep does it
    when that step failed. Emits ``subscription.updated`` + ``subscription.active``."""
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
        subscription_emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED, WebhookEventType.SUBSCRIPTION_ACTIVE)
    billing_metrics.DUNNING_RECOVERIES.inc()
    return True
