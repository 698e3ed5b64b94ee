"""Draft orders: an off-session charge the merchant prepares (``POST /v1/orders/``) and then finalizes
(``POST /v1/orders/{id}/finalize``) against the customer's saved card.

A draft is a ``purchase`` order of a one-time, fixed-price product with status ``draft``: priced and
numbered when created (our invoice numbers are allocated with the order, gapless; Polar numbers at
finalization), charged nothing, and announced by no webhook. Finalizing moves it to ``pending`` (the
crash marker, ``order.created``), charges it with the order's attempt key, then grants the product's
benefits; a decline puts it back to ``draft`` (402, chargeable again with another card).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.db import transaction

from billing.benefits.services import benefit_grants_create_for
from billing.custom_fields.services import custom_field_data_validate
from billing.models import Order, OrderBillingReason, OrderItem, OrderStatus, PaymentMethod, Product, ProductPrice
from billing.orders import services as order_services
from billing.payments.services import PaymentFailed
from billing.pricing import Period, PricingInput
from polar import clock
from polar.errors import NotPermitted, PolarError, PolarRequestValidationError
from polar.money import MAX_AMOUNT
from polar.webhooks.events import WebhookEventType


class OrderNotDraft(PolarError):
    status_code = 412
    error = "OrderNotDraft"


class OrganizationNotReadyForPayments(NotPermitted):
    error = "OrganizationNotReadyForPayments"


def _invalid(loc, msg, type_="value_error"):
    return PolarRequestValidationError.single(list(loc), msg, type_)


def order_draft_create(
    *,
    organization,
    customer,
    product: Product,
    currency=None,
    amount=None,
    description=None,
    metadata=None,
    custom_field_data=None,
) -> Order:
    """Write a draft order for ``product`` (one-time, fixed-price or free) in ``currency`` (default: the
    organization's, else the product's first price). ``amount`` replaces the price (minor units).
    422 with ``loc`` and nothing written for another organization's or deleted customer, a recurring,
    archived, seat-based, metered or pay-what-you-want product, or a currency it is not priced in, or a wrong
    answer to one of the product's custom fields (the merchant may leave required ones unanswered, as at a
    checkout's creation: nobody is asked them later)."""
    if customer.organization_id != organization.id or customer.deleted_at is not None:
        raise _invalid(("body", "customer_id"), "Customer does not exist.")
    if product.organization_id != organization.id or product.is_archived:
        raise _invalid(("body", "product_id"), "Product does not exist.")
    if product.is_recurring:
        raise _invalid(
            ("body", "product_id"),
            "Subscription products are not supported by the off-session charge API. Use a one-time product.",
        )
    prices = list(product.all_prices.filter(is_archived=False).order_by("created_at", "id"))
    if not prices or any(p.amount_type != ProductPrice.AmountType.FIXED for p in prices):
        raise _invalid(("body", "product_id"), "Off-session charges only support fixed-price products.")
    currencies = [p.price_currency for p in prices]
    currency = (currency or "").lower() or (
        organization.default_presentment_currency if organization.default_presentment_currency in currencies else currencies[0]
    )
    price = next((p for p in prices if p.price_currency == currency), None)
    if price is None:
        raise _invalid(("body", "currency"), f"Product has no price in {currency.upper()}.")
    if amount is not None and amount > MAX_AMOUNT:
        raise _invalid(("body", "amount"), f"The amount cannot exceed {MAX_AMOUNT}.")
    answers = custom_field_data_validate(product=product, data=custom_field_data, required=False)
    label = description or product.name
    tax_bps = order_services.tax_rate_bps_for(organization=organization, customer=customer)
    line = order_services.line_for(price, product_name=label, tax_rate_bps=tax_bps)
    if amount is not None:
        line = dataclasses.replace(line, price=dataclasses.replace(line.price, amount=amount))
    now = clock.now()
    pricing_input = PricingInput(period=Period(now, now + dt.timedelta(seconds=1)), currency=currency, lines=[line])
    order, lines = order_services.order_build(
        organization=organization,
        customer=customer,
        billing_reason=OrderBillingReason.PURCHASE,
        pricing_input=pricing_input,
        product=product,
        description=label,
        metadata=metadata,
    )
    order.status, order.paid_at, order.awaiting_fulfilment = OrderStatus.DRAFT, None, False
    order.custom_field_data = answers
    with transaction.atomic():
        [(order.invoice_sequence, order.invoice_number)] = order_services.order_invoice_numbers_next(organization, 1)
        order.save(force_insert=True)
        OrderItem.objects.bulk_create(order_services.order_items_from_lines(order=order, lines=lines))
    return order


def _payment_method_for(order: Order, payment_method_id) -> PaymentMethod:
    methods = PaymentMethod.objects.filter(customer_id=order.customer_id, deleted_at__isnull=True)
    wanted = payment_method_id or order.customer.default_payment_method_id
    method = methods.filter(pk=wanted).first() if wanted else None
    if method is None:
        message = "Payment method does not exist." if payment_method_id else "The customer has no default payment method."
        raise _invalid(("body", "payment_method_id"), message)
    return method


def order_finalize(*, order: Order, payment_method_id=None) -> Order:
    """Charge a draft order now (off-session). Call it with no transaction open (it charges).

    412 ``OrderNotDraft`` unless the order is a draft (a finalized order is never charged twice: the status
    moves to ``pending`` under the row lock before the charge), 403 when the organization may not take
    payments, 422 on ``payment_method_id`` for a card that is not the customer's (or no default card).
    The charge uses the order's attempt key (``order:<id>:attempt:<n>``). Success: ``paid``, benefits
    granted. Decline: back to ``draft`` and ``PaymentFailed`` (402 with the decline code)."""
    with transaction.atomic():
        locked = Order.objects.select_for_update(of=("self",)).select_related("organization", "customer").get(pk=order.pk)
        if locked.status != OrderStatus.DRAFT:
            raise OrderNotDraft(f"Order {locked.id} is not a draft (current status: {locked.status}).")
        if not locked.organization.can_use_api():
            raise OrganizationNotReadyForPayments("This organization cannot accept payments.")
        method = _payment_method_for(locked, payment_method_id) if locked.due_amount > 0 else None
        charging = locked.due_amount > 0
        locked.status = OrderStatus.PENDING if charging else OrderStatus.PAID
        locked.paid_at = None if charging else clock.now()
        # The fulfilment crash marker (docs/fulfilment.md): a crash after the charge is finished by the sweep.
        locked.awaiting_fulfilment = charging
        locked.modified_at = clock.now()
        locked.save(update_fields=["status", "paid_at", "awaiting_fulfilment", "modified_at"])
        paid = (WebhookEventType.ORDER_PAID,) if locked.status == OrderStatus.PAID else ()
        order_services.order_emit(locked, WebhookEventType.ORDER_CREATED, *paid)
    if method is not None:
        payment = order_services.order_charge(order=locked, payment_method=method)
        if payment is not None and payment.status != "succeeded":
            with transaction.atomic():
                back = Order.objects.select_for_update().get(pk=locked.pk)
                if back.status == OrderStatus.PENDING:
                    back.status, back.awaiting_fulfilment, back.modified_at = OrderStatus.DRAFT, False, clock.now()
                    back.save(update_fields=["status", "awaiting_fulfilment", "modified_at"])
            raise PaymentFailed.for_payment(payment)
    with transaction.atomic():
        benefit_grants_create_for(customer=locked.customer, product=locked.product, order_id=locked.id)
        done = Order.objects.select_for_update().get(pk=locked.pk)
        if done.paid and done.awaiting_fulfilment:
            done.awaiting_fulfilment, done.modified_at = False, clock.now()
            done.save(update_fields=["awaiting_fulfilment", "modified_at"])
    locked.refresh_from_db()
    return locked
