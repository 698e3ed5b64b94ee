"""Writes of the customer portal: what a customer may change of their own, through the same services the
merchant's API uses (customers, payment methods, subscription changes and cancellation, order charges).

Each function receives rows already read through ``billing.portal.selectors`` (scoped to the session's
customer), so nothing here can reach another customer's data."""

import structlog
from django.db import transaction

from billing.dunning.services import OrderNotEligibleForRetry, dunning_retry_for_customer, dunning_retry_order
from billing.models import (
    DunningAttemptKind,
    DunningCase,
    OrderStatus,
    Payment,
    PaymentMethod,
    Product,
    Subscription,
    SubscriptionStatus,
)
from billing.orders.services import order_charge
from billing.payments.services import payment_method_attach, payment_method_delete
from billing.subscriptions import changes, lifecycle
from billing.subscriptions.services import subscription_recover_if_settled
from customers.models import Customer
from customers.services import customer_update
from polar import clock
from polar.errors import NotPermitted, PolarError, PolarRequestValidationError

logger = structlog.get_logger(__name__)


class UpdateSubscriptionPlanNotAllowed(NotPermitted):
    error = "UpdateSubscriptionPlanNotAllowed"


class PaymentAlreadyInProgress(PolarError):
    status_code = 409
    error = "PaymentAlreadyInProgress"


# --- the customer -----------------------------------------------------------------------------------


def portal_customer_update(*, customer: Customer, changes_: dict) -> Customer:
    """Polar's ``CustomerPortalCustomerUpdate``: billing name, billing address, tax id and the default
    payment method (one of the customer's own, not deleted; else 422). Locks the customer row; the address
    and tax id go through ``customers.services.customer_update`` (its rules, one ``customer.updated``)."""
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        fields = []
        if "billing_name" in changes_:
            locked.billing_name = changes_["billing_name"]
            fields.append("billing_name")
        if "default_payment_method_id" in changes_:
            method_id = changes_["default_payment_method_id"]
            if (
                method_id is not None
                and not PaymentMethod.objects.filter(pk=method_id, customer=locked, deleted_at__isnull=True).exists()
            ):
                raise PolarRequestValidationError.single(["body", "default_payment_method_id"], "Payment method does not exist.")
            locked.default_payment_method_id = method_id
            fields.append("default_payment_method_id")
        if fields:
            locked.save(update_fields=fields)
        rest = {key: changes_[key] for key in ("billing_address", "tax_id") if key in changes_}
        return customer_update(customer=locked, changes=rest)


# --- payment methods --------------------------------------------------------------------------------


def portal_payment_method_add(*, customer: Customer, token: str, set_default: bool) -> PaymentMethod:
    """Save a card (a sandbox token such as ``pm_card_visa``) through ``payment_method_attach`` (which
    locks the customer and writes the method; a declined card writes nothing); when it is now the
    customer's default, retry at once what is past due (issue 15: a new card recovers failed payments,
    through ``dunning_retry_for_customer``). Not idempotent by itself: the API's Idempotency-Key replays
    the first answer."""
    method = payment_method_attach(customer=customer, token=token, set_default=set_default)
    if customer.default_payment_method_id == method.id:
        retry_past_due_after_new_payment_method(customer=customer)
    return method


def retry_past_due_after_new_payment_method(*, customer: Customer) -> list:
    """The one place the portal asks dunning to retry a customer's past-due orders now, once the customer
    has a new default card (dunning charges that card first). Called after the card is committed, outside
    any transaction (it charges); retries nothing when nothing is past due."""
    return dunning_retry_for_customer(customer=customer)


class PaymentMethodInUseByActiveSubscription(PolarError):
    status_code = 400
    error = "PaymentMethodInUseByActiveSubscription"


def portal_payment_method_delete(*, payment_method: PaymentMethod) -> PaymentMethod:
    """Remove one of the customer's cards, as Polar's portal does: while a live subscription (trialing,
    active, past due, not set to cancel) would be left with no card to charge, refuse (400
    ``PaymentMethodInUseByActiveSubscription``); otherwise the customer's newest other card takes over as
    the default and as the card of the subscriptions that named this one. Locks the customer and those
    subscriptions (by pk); the deletion itself is ``payment_method_delete`` (soft, idempotent refusal)."""
    with transaction.atomic():
        # The method, then its customer: the order payment_method_delete locks them in.
        PaymentMethod.objects.select_for_update().get(pk=payment_method.pk)
        customer = Customer.objects.select_for_update().get(pk=payment_method.customer_id)
        alternative = (
            PaymentMethod.objects.filter(customer=customer, deleted_at__isnull=True)
            .exclude(pk=payment_method.pk)
            .order_by("-created_at", "-id")
            .first()
        )
        live = Subscription.objects.filter(
            customer=customer, status__in=Subscription.ACTIVE_STATUSES, cancel_at_period_end=False
        ).order_by("pk")
        in_use = customer.default_payment_method_id == payment_method.pk or live.filter(payment_method=payment_method).exists()
        if alternative is None and in_use and live.exists():
            raise PaymentMethodInUseByActiveSubscription(
                "This payment method is used by an active subscription; add another card first."
            )
        deleted = payment_method_delete(payment_method=payment_method)
        if alternative is not None:
            customer.refresh_from_db(fields=["default_payment_method_id"])
            if customer.default_payment_method_id is None:
                customer.default_payment_method_id = alternative.pk
                customer.save(update_fields=["default_payment_method_id"])
            for subscription in live.filter(payment_method=payment_method).select_for_update():
                subscription.payment_method = alternative
                subscription.modified_at = clock.now()
                subscription.save(update_fields=["payment_method", "modified_at"])
    return deleted


# --- subscriptions ----------------------------------------------------------------------------------


def portal_subscription_change_product(*, subscription, product: Product | None):
    """Switch plan, when the organization allows customer updates (else 403
    ``UpdateSubscriptionPlanNotAllowed``), with the organization's proration behaviour. The product must be
    one the customer can see (public, not archived, of the organization): else 422."""
    organization = subscription.customer.organization
    if not organization.allow_customer_updates:
        raise UpdateSubscriptionPlanNotAllowed("Updating subscription plan is not allowed.")
    if product is None:
        raise PolarRequestValidationError.single(["body", "product_id"], "Product does not exist.")
    return changes.subscription_change_product(
        subscription=subscription, product=product, proration_behavior=organization.proration_behavior
    )


def portal_subscription_change_seats(*, subscription, seats: int):
    """Change the seat count with the organization's proration behaviour (``subscription_change_seats``)."""
    return changes.subscription_change_seats(
        subscription=subscription, seats=seats, proration_behavior=subscription.customer.organization.proration_behavior
    )


def portal_subscription_change_units(*, subscription, units: int):
    """Change the quantity of a unit-based subscription with the organization's proration behaviour
    (``subscription_change_units``: 422 on ``units`` outside the price's minimum and maximum, or when the
    subscription has no unit-based price)."""
    return changes.subscription_change_units(
        subscription=subscription, units=units, proration_behavior=subscription.customer.organization.proration_behavior
    )


def portal_subscription_cancel(*, subscription, cancel_at_period_end: bool | None = True, reason=None, comment=None):
    """Cancel at period end (``subscription_cancel``), or uncancel when ``cancel_at_period_end`` is false."""
    if cancel_at_period_end is False:
        return lifecycle.subscription_uncancel(subscription=subscription)
    return lifecycle.subscription_cancel(
        subscription=subscription, customer_cancellation_reason=reason, customer_cancellation_comment=comment
    )


# --- orders -----------------------------------------------------------------------------------------


def portal_order_payment_status(*, order) -> dict:
    """Polar's ``CustomerOrderPaymentStatus``: the latest payment's status and decline message."""
    payment = Payment.objects.filter(order_id=order.id).order_by("-created_at", "-id").first()
    if payment is None:
        return {"status": "no_payment", "error": None}
    return {"status": payment.status, "error": payment.decline_message}


def portal_order_confirm_payment(*, order, payment_method: PaymentMethod | None = None, token: str | None = None) -> dict:
    """Retry the payment of a pending order now, with one of the customer's saved cards or a new card
    token (saved first). Refuses an order that is not pending or owes nothing (422
    ``OrderNotEligibleForRetry``) and one whose payment is in flight (409 ``PaymentAlreadyInProgress``).

    An order in dunning (a failed renewal) is retried by dunning (``dunning_retry_order``, kind
    ``customer``: an attempt recorded on its case, the case closed and the subscription back with its
    benefits on success, the e-mails); dunning charges the customer's default card, so the chosen card
    becomes the default first (the customer is fixing their card). Any other pending order is charged
    through ``order_charge`` (key ``order:<id>:attempt:<n>``: a repeated request never charges twice for
    one attempt). Call with no transaction open. A decline answers ``failed``, not an error."""
    if order.status != OrderStatus.PENDING or order.due_amount <= 0:
        raise OrderNotEligibleForRetry("Order is not eligible for payment retry.")
    if Payment.objects.filter(order_id=order.id, status=Payment.Status.PENDING).exists():
        raise PaymentAlreadyInProgress("Payment for order is already in progress.")
    in_dunning = DunningCase.objects.filter(order_id=order.id).exists()
    if payment_method is None:
        if not token:
            raise PolarRequestValidationError.single(
                ["body", "payment_method_id"], "Send payment_method_id or confirmation_token_id."
            )
        payment_method = payment_method_attach(customer=order.customer, token=token, set_default=in_dunning)
    if in_dunning:
        if order.customer.default_payment_method_id != payment_method.id:
            portal_customer_update(customer=order.customer, changes_={"default_payment_method_id": payment_method.id})
        attempt = dunning_retry_order(order=order, kind=DunningAttemptKind.CUSTOMER)
        logger.info("portal.order_retry", order_id=str(order.id), dunning_attempt_id=str(attempt.id), status=attempt.status)
        return {"status": attempt.status, "client_secret": None}
    payment = order_charge(order=order, payment_method=payment_method, trigger=Payment.Trigger.RETRY_CUSTOMER)
    if payment is None:
        return {"status": "succeeded", "client_secret": None}
    if payment.status == Payment.Status.SUCCEEDED and order.subscription_id:
        subscription = order.subscription
        if subscription.status == SubscriptionStatus.PAST_DUE:
            subscription_recover_if_settled(subscription=subscription)
    logger.info("portal.order_retry", order_id=str(order.id), payment_id=str(payment.id), status=payment.status)
    return {"status": payment.status, "client_secret": None}
