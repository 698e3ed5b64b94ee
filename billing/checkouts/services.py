"""Checkout sessions: creation (merchant API) and confirmation (hosted page and ``client_confirm``).

``checkout_confirm`` is the one way a checkout is paid, whether the buyer submits the hosted page or a client calls
``POST /v1/checkouts/client/{client_secret}/confirm``:

1. validate the input, the answers to the product's custom fields included (422, nothing written);
2. transaction: lock the checkout, create or link the customer, record the buyer's choices;
3. attach the card (``payment_method_attach``; a card refused on setup → 402, checkout ``failed``);
4. recurring product: ``subscription_create`` (or, when a previous attempt was declined, charge the same incomplete
   subscription's first order again); one-time product: a ``purchase`` order charged with ``order_charge``,
   benefits granted on payment;
5. transaction: checkout ``succeeded`` (or ``failed`` on a decline, which re-raises ``PaymentFailed`` with the
   decline code) and ``checkout.updated``.

Confirming a succeeded checkout again returns it unchanged (a double-submitted form charges once).
"""

from __future__ import annotations

import datetime as dt

import structlog
from django.db import transaction

from billing.benefits import services as benefit_services
from billing.checkouts.payloads import CheckoutOutput, checkout_success_url, checkout_trial_end
from billing.custom_fields.services import custom_field_data_validate
from billing.discounts.selectors import discount_get_by_code
from billing.discounts.services import discount_redeem, discount_unusable_reason
from billing.fulfilment import services as fulfilment_services
from billing.fulfilment.services import CONFIRMATION_LOCK
from billing.models import (
    Checkout,
    CheckoutProduct,
    Discount,
    Order,
    OrderBillingReason,
    OrderStatus,
    Payment,
    Product,
    ProductPrice,
)
from billing.orders import services as order_services
from billing.payments.services import PaymentFailed, payment_method_attach
from billing.pricing import Period, PricingInput, next_period_end, price
from billing.subscriptions import lifecycle as subscription_lifecycle
from billing.subscriptions import services as subscription_services
from billing.usage.services import customer_create
from customers.models import Customer
from polar import clock
from polar.errors import PolarError, PolarRequestValidationError
from polar.money import MAX_AMOUNT
from polar.organizations.services import organization_require_checkouts_open
from polar.webhooks.events import WebhookEventType
from polar.webhooks.services import webhook_event_emit

logger = structlog.get_logger(__name__)

CHECKOUT_TTL = dt.timedelta(hours=1)


class NotOpenCheckout(PolarError):
    status_code = 403
    error = "NotOpenCheckout"


class CheckoutLocked(PolarError):
    """Another confirmation of this checkout is being processed (a double-submitted form)."""

    status_code = 409
    error = "CheckoutLocked"


def _invalid(loc, msg, type_="value_error"):
    return PolarRequestValidationError.single(list(loc), msg, type_)


def _emit(checkout: Checkout, event: WebhookEventType) -> None:
    data = CheckoutOutput(Checkout.objects.get(pk=checkout.pk)).data  # re-read: the payload shows the row as saved
    webhook_event_emit(organization=checkout.organization, type=event, data=data)


def _static_price(product: Product, currency: str | None) -> ProductPrice | None:
    prices = [p for p in product.all_prices.filter(is_archived=False).order_by("created_at", "id")]
    if currency is not None:
        prices = [p for p in prices if p.price_currency == currency]
    static = [p for p in prices if p.is_static]
    return (static or prices or [None])[0]


def checkout_preview(checkout: Checkout, *, product: Product, discount: Discount | None, seats: int | None) -> dict:
    """The figures the buyer sees for ``product``: first period (or purchase), discount, tax."""
    now = clock.now()
    prices = [p for p in product.all_prices.filter(is_archived=False, price_currency=checkout.currency) if p.is_static]
    period_end = (
        next_period_end(now, product.recurring_interval, product.recurring_interval_count or 1)
        if product.is_recurring
        else now + dt.timedelta(seconds=1)
    )
    tax_bps = order_services.tax_rate_bps_for(
        organization=checkout.organization, customer=checkout.customer, billing_address=checkout.customer_billing_address
    )
    lines = [
        order_services.line_for(p, product_name=product.name, tax_rate_bps=tax_bps, seats=seats, units=checkout.units)
        for p in prices
    ]
    result = price(
        PricingInput(
            period=Period(now, period_end),
            currency=checkout.currency,
            lines=lines,
            discount=order_services.discount_input_for(discount, first_order=True),
        )
    )
    return {
        "amount": result.subtotal_amount,
        "discount_amount": result.discount_amount,
        "net_amount": result.net_amount,
        "tax_amount": result.tax_amount,
        "total_amount": result.total_amount,
        "tax_rate_bps": tax_bps,
    }


def checkout_create(
    *,
    organization,
    products: list,
    customer: Customer | None = None,
    external_customer_id: str | None = None,
    customer_email: str | None = None,
    customer_name: str | None = None,
    customer_billing_address: dict | None = None,
    customer_tax_id: str | None = None,
    customer_ip_address: str | None = None,
    customer_metadata: dict | None = None,
    discount: Discount | None = None,
    allow_discount_codes: bool = True,
    allow_trial: bool | None = True,
    trial_interval: str | None = None,
    trial_interval_count: int | None = None,
    require_billing_address: bool = False,
    is_business_customer: bool = False,
    success_url: str | None = None,
    return_url: str | None = None,
    embed_origin: str | None = None,
    seats: int | None = None,
    metadata: dict | None = None,
    locale: str | None = None,
    units: int | None = None,
    custom_field_data: dict | None = None,
) -> Checkout:
    """Open a checkout session for ``products`` (ids, in display order; the first is selected).

    422 with ``loc`` and nothing written for: an unknown or foreign product, an archived one, one with no price,
    products priced in different currencies, a customer of another organization, a discount that does not apply
    to the selected product, seats outside the tiers, a wrong answer to one of the selected product's custom
    fields (required ones may still be missing). 403 ``CheckoutsBlocked`` while the risk team blocks the
    organization's checkouts. Emits ``checkout.created``.
    """
    organization_require_checkouts_open(organization)
    if not products:
        raise _invalid(("body", "products"), "At least one product is required.", "too_short")
    found = {p.id: p for p in Product.objects.filter(organization=organization, pk__in=products)}
    resolved: list[Product] = []
    currency = None
    for index, product_id in enumerate(products):
        product = found.get(product_id)
        if product is None:
            raise _invalid(("body", "products", index), "Product does not exist.")
        if product.is_archived:
            raise _invalid(("body", "products", index), "Product is archived.")
        selected_price = _static_price(product, currency)
        if selected_price is None:
            if currency is not None and _static_price(product, None) is not None:
                raise _invalid(
                    ("body", "products", index), f"Product has no price in {currency.upper()} like the other products."
                )
            raise _invalid(("body", "products", index), "Product has no active price.")
        currency = currency or selected_price.price_currency
        resolved.append(product)
    selected = resolved[0]
    selected_price = _static_price(selected, currency)
    if customer is not None and (customer.organization_id != organization.id or customer.deleted_at is not None):
        raise _invalid(("body", "customer_id"), "Customer does not exist.")
    if customer is None and external_customer_id:
        customer = Customer.objects.filter(
            organization=organization, external_id=external_customer_id, deleted_at__isnull=True
        ).first()
    if discount is not None:
        if discount.organization_id != organization.id:
            raise _invalid(("body", "discount_id"), "Discount does not exist.")
        problem = discount_unusable_reason(discount=discount, product=selected, customer=customer, currency=currency)
        if problem is not None:
            raise _invalid(("body", "discount_id"), problem[1])
    if selected.is_recurring:
        seats = subscription_services.validate_seats(
            list(selected.all_prices.filter(is_archived=False, price_currency=currency)), seats
        )
    elif seats is not None:
        raise _invalid(("body", "seats"), "Seats can only be set on a seat-based product.")
    units = subscription_services.validate_product_units(selected, currency, units)  # unit_based: minimum_units..
    custom_field_data = custom_field_data_validate(product=selected, data=custom_field_data, required=False)
    if not organization.can_use_api():
        raise NotOpenCheckout("This organization cannot accept payments.")
    now = clock.now()
    with transaction.atomic():
        checkout = Checkout(
            organization=organization,
            expires_at=now + CHECKOUT_TTL,
            success_url=success_url,
            return_url=return_url,
            embed_origin=embed_origin,
            product=selected,
            product_price=selected_price,
            currency=currency,
            seats=seats,
            units=units,
            discount=discount,
            allow_discount_codes=allow_discount_codes,
            allow_trial=allow_trial,
            trial_interval=trial_interval,
            trial_interval_count=trial_interval_count,
            require_billing_address=require_billing_address,
            is_business_customer=is_business_customer,
            customer=customer,
            external_customer_id=external_customer_id,
            customer_email=customer_email or (customer.email if customer else None),
            customer_name=customer_name or (customer.name if customer else None),
            customer_billing_address=customer_billing_address,
            customer_tax_id=customer_tax_id,
            customer_ip_address=customer_ip_address,
            customer_metadata=customer_metadata or {},
            metadata=metadata or {},
            locale=locale,
            custom_field_data=custom_field_data,
        )
        checkout.organization = organization
        preview = checkout_preview(checkout, product=selected, discount=discount, seats=seats)
        _validate_amount(preview, loc=("body", "seats") if seats is not None else ("body", "products", 0))
        for name, value in preview.items():
            if name != "tax_rate_bps":
                setattr(checkout, name, value)
        checkout.save()
        CheckoutProduct.objects.bulk_create(
            [CheckoutProduct(checkout=checkout, product=product, order=index) for index, product in enumerate(resolved)]
        )
        _emit(checkout, WebhookEventType.CHECKOUT_CREATED)
    return checkout


def discount_by_code(*, organization, code: str) -> Discount:
    """The organization's live discount with this code (ignoring case), or a 422 on ``discount_code``."""
    discount = discount_get_by_code(organization=organization, code=code.strip())
    if discount is None:
        raise _invalid(("body", "discount_code"), "Discount code does not exist.")
    return discount


def _mark_failed(checkout: Checkout) -> None:
    with transaction.atomic():
        locked = Checkout.objects.select_for_update().get(pk=checkout.pk)
        if locked.status != Checkout.Status.SUCCEEDED:
            locked.status = Checkout.Status.FAILED
            locked.modified_at = clock.now()
            locked.save(update_fields=["status", "modified_at"])
            _emit(locked, WebhookEventType.CHECKOUT_UPDATED)


def checkout_confirm(
    *,
    checkout: Checkout,
    customer_email: str | None = None,
    customer_name: str | None = None,
    confirmation_token_id: str | None = None,
    product_id=None,
    discount_code: str | None = None,
    customer_billing_address: dict | None = None,
    custom_field_data: dict | None = None,
) -> Checkout:
    """Pay a checkout; see the module docstring. Call it with no transaction open (it charges).

    Raises ``NotOpenCheckout`` (403) for an expired checkout, 422 for bad input (nothing written; a required custom
    field left unanswered, in ``custom_field_data`` or in the answers stored before, included),
    ``PaymentMethodSetupFailed``/``PaymentFailed`` (402 with the decline code; checkout ``failed`` and confirmable
    again), and the processor's 502/503 errors.
    """
    checkout.refresh_from_db()
    if checkout.status == Checkout.Status.SUCCEEDED:
        return checkout
    if checkout.status == Checkout.Status.CONFIRMED and _money_taken(checkout):
        # Paid by an earlier confirmation whose fulfilment was cut short: finish it, charge nothing.
        return _finish_paid(checkout)
    now = clock.now()
    if not checkout.is_open(now):
        raise NotOpenCheckout("This checkout is expired or no longer open.")
    if not checkout.organization.can_use_api():
        # A denied merchant sells nothing more: refused before anything is written or charged.
        raise NotOpenCheckout("This checkout is no longer open: the merchant cannot accept payments.")

    product = checkout.product
    if product_id is not None:
        product = Product.objects.filter(pk=product_id, pk__in=checkout.checkout_products.values("product_id")).first()
        if product is None or product.is_archived:
            raise _invalid(("body", "product_id"), "Product is not part of this checkout.")
    product_price = _static_price(product, checkout.currency)
    if product_price is None:
        raise _invalid(("body", "product_id"), f"Product has no price in {checkout.currency.upper()}.")
    discount = checkout.discount
    if discount_code:
        if not checkout.allow_discount_codes:
            raise _invalid(("body", "discount_code"), "Discount codes are not allowed on this checkout.")
        discount = discount_by_code(organization=checkout.organization, code=discount_code)
    customer = checkout.customer
    email = (customer_email or checkout.customer_email or "").strip() or None
    if customer is None and email is None:
        raise _invalid(("body", "customer_email"), "Field required", "missing")
    if discount is not None:
        problem = discount_unusable_reason(discount=discount, product=product, customer=customer, currency=checkout.currency)
        if problem is not None:
            raise _invalid(("body", "discount_code" if discount_code else "discount_id"), problem[1])
    answers = checkout.custom_field_data if custom_field_data is None else custom_field_data
    answers = custom_field_data_validate(product=product, data=answers, required=True)
    trial_end = checkout_trial_end(checkout, product, now)
    preview = checkout_preview(checkout, product=product, discount=discount, seats=checkout.seats)
    _validate_amount(preview, loc=("body", "product_id"))
    payment_required = (preview["total_amount"] > 0 and trial_end is None) or (trial_end is not None and preview["amount"] > 0)
    token = (confirmation_token_id or "").strip() or None
    if payment_required and token is None:
        raise _invalid(("body", "confirmation_token_id"), "A card is required.", "missing")

    with transaction.atomic():
        locked = Checkout.objects.select_for_update().get(pk=checkout.pk)
        if locked.status == Checkout.Status.SUCCEEDED:
            return locked
        if locked.status == Checkout.Status.CONFIRMED and locked.confirmed_at and now < locked.confirmed_at + CONFIRMATION_LOCK:
            raise CheckoutLocked("This checkout is being processed.")
        locked.status = Checkout.Status.CONFIRMED
        locked.confirmed_at = now
        if customer is None and locked.external_customer_id:
            customer = Customer.objects.filter(
                organization=locked.organization, external_id=locked.external_customer_id, deleted_at__isnull=True
            ).first()
        if customer is None:
            customer = Customer.objects.filter(
                organization=locked.organization, email__iexact=email, deleted_at__isnull=True
            ).first()
        if customer is None:
            customer = customer_create(
                organization=locked.organization,
                email=email,
                name=customer_name or locked.customer_name,
                billing_address=customer_billing_address or locked.customer_billing_address,
                external_id=locked.external_customer_id,
                metadata=locked.customer_metadata or None,
            )
        locked.customer = customer
        locked.customer_email = email or customer.email
        locked.customer_name = customer_name or locked.customer_name or customer.name
        if customer_billing_address:
            locked.customer_billing_address = customer_billing_address
        locked.product, locked.product_price, locked.discount = product, product_price, discount
        locked.custom_field_data = answers
        for name, value in preview.items():
            if name != "tax_rate_bps":
                setattr(locked, name, value)
        locked.modified_at = now
        locked.save()
    checkout = locked

    payment_method = None
    try:
        if token is not None:
            payment_method = payment_method_attach(customer=customer, token=token, set_default=True)
        if product.is_recurring:
            existing = checkout.subscription
            if existing is not None:
                # A retry (after a decline or a crash): pay the same subscription's first order, if unpaid.
                if existing.status == "incomplete":
                    subscription_lifecycle.subscription_pay_first_order(subscription=existing, payment_method=payment_method)
            else:
                subscription_lifecycle.subscription_create(
                    organization=checkout.organization,
                    customer=customer,
                    product=product,
                    payment_method=payment_method,
                    discount=discount,
                    seats=checkout.seats,
                    units=checkout.units,
                    trial_end=trial_end,
                    checkout=checkout,
                    currency=checkout.currency,
                    metadata=checkout.metadata,
                )
        else:
            _purchase(checkout=checkout, customer=customer, product=product, discount=discount, payment_method=payment_method)
    except PolarError:
        # Declines, processor trouble, bad input found late: the checkout can be confirmed again; a
        # retry reuses the subscription/order written above, so a charge in doubt is reconciled, not repeated.
        # (Nothing raises once money is taken: fulfilment failures are recorded, not raised.)
        _mark_failed(checkout)
        raise

    try:
        return fulfilment_services.checkout_succeed(checkout=checkout)
    except Exception:
        if not _money_taken(checkout):
            raise
        # Paid: answer with the checkout as it stands; the fulfilment sweep succeeds it.
        logger.exception("checkout.succeed_deferred", checkout_id=str(checkout.id))
        checkout.refresh_from_db()
        return checkout


def _finish_paid(checkout: Checkout) -> Checkout:
    """A checkout whose charge succeeded: fulfil its order and succeed it; never raises."""
    payment = Payment.objects.filter(checkout_id=checkout.id, status=Payment.Status.SUCCEEDED, order__isnull=False).first()
    if payment is not None:
        fulfilment_services.order_fulfil_after_charge(order=payment.order)
    try:
        return fulfilment_services.checkout_succeed(checkout=checkout)
    except Exception:  # paid: the fulfilment sweep succeeds it
        logger.exception("checkout.succeed_deferred", checkout_id=str(checkout.id))
        checkout.refresh_from_db()
        return checkout


def _money_taken(checkout: Checkout) -> bool:
    return Payment.objects.filter(checkout_id=checkout.id, status=Payment.Status.SUCCEEDED).exists()


def _validate_amount(preview: dict, *, loc) -> None:
    """422 before anything is written when the checkout's amounts exceed what can be charged."""
    if max(preview["amount"], preview["total_amount"]) > MAX_AMOUNT:
        raise _invalid(loc, f"The amount would exceed the maximum of {MAX_AMOUNT} in minor units.")


def _purchase(*, checkout: Checkout, customer, product: Product, discount, payment_method) -> Order:
    """A one-time product: the ``purchase`` order (written once per checkout), charged, then granted."""
    with transaction.atomic():
        locked = Checkout.objects.select_for_update().get(pk=checkout.pk)
        order = locked.order
        if order is None:
            now = clock.now()
            tax_bps = order_services.tax_rate_bps_for(organization=locked.organization, customer=customer)
            prices = [p for p in product.all_prices.filter(is_archived=False, price_currency=locked.currency) if p.is_static]
            pricing_input = PricingInput(
                period=Period(now, now + dt.timedelta(seconds=1)),
                currency=locked.currency,
                lines=[
                    order_services.line_for(p, product_name=product.name, tax_rate_bps=tax_bps, units=checkout.units)
                    for p in prices
                ],
                discount=order_services.discount_input_for(discount, first_order=True),
            )
            order = order_services.order_create(
                organization=locked.organization,
                customer=customer,
                billing_reason=OrderBillingReason.PURCHASE,
                pricing_input=pricing_input,
                product=product,
                checkout=locked,
                discount=discount,
                description=product.name,
                metadata=locked.metadata,
            )
            if discount is not None:
                discount_redeem(
                    discount=discount,
                    customer=customer,
                    product=product,
                    currency=locked.currency,
                    checkout_id=locked.id,
                    order_id=order.id,
                )
            locked.order = order
            locked.save(update_fields=["order"])
    if order.status == OrderStatus.PENDING:
        payment = order_services.order_charge(order=order, payment_method=payment_method)
        if payment is not None and payment.status != Payment.Status.SUCCEEDED:
            raise PaymentFailed.for_payment(payment)
    if order.due_amount > 0:
        # Money taken (now or by an earlier attempt): benefits and the checkout are fulfilment, which
        # never raises; what fails is recorded on the order and finished by the fulfilment sweep.
        fulfilment_services.order_fulfil_after_charge(order=order)
    else:
        with transaction.atomic():
            benefit_services.benefit_grants_create_for(customer=customer, product=product, order_id=order.id)
    order.refresh_from_db()
    return order


class ExpiredCheckoutError(PolarError):
    status_code = 410
    error = "ExpiredCheckoutError"


_MERCHANT_FIELDS = (
    "customer_name customer_email customer_billing_name customer_billing_address customer_tax_id locale is_business_customer trial_interval trial_interval_count "
    "metadata allow_discount_codes require_billing_address allow_trial customer_ip_address customer_metadata success_url return_url embed_origin"
).split()
_PUBLIC_FIELDS = [*_MERCHANT_FIELDS[:7], "allow_trial"]
_NOT_NULL = {
    "metadata": {},
    "customer_metadata": {},
    "is_business_customer": False,
    "allow_discount_codes": True,
    "require_billing_address": False,
}


def checkout_update(*, checkout: Checkout, public: bool = False, **changes) -> Checkout:
    """Change an open checkout before it is confirmed: ``checkouts.update`` (merchant, ``public=False``) or
    ``client_update`` (the buyer, by client secret: fewer fields, ``discount_code`` instead of
    ``discount_id``). The selected product (one of the checkout's), its price in the checkout's currency,
    seats and discount are validated as at creation and the preview recomputed; 422 with ``loc`` and
    nothing written on bad input. An expired checkout: 410 ``ExpiredCheckoutError`` for the buyer, 403
    ``NotOpenCheckout`` for the merchant; one being confirmed or done: 403 ``NotOpenCheckout``. Emits
    ``checkout.updated``."""
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update(of=("self",)).select_related("organization", "product").get(pk=checkout.pk)
        now = clock.now()
        if checkout.status in (Checkout.Status.OPEN, Checkout.Status.FAILED) and now >= checkout.expires_at:
            raise (ExpiredCheckoutError if public else NotOpenCheckout)("This checkout is expired.")
        if checkout.status not in (Checkout.Status.OPEN, Checkout.Status.FAILED):
            raise NotOpenCheckout("This checkout is no longer open.")
        product = checkout.product
        if changes.get("product_id") is not None:
            product = Product.objects.filter(
                pk=changes["product_id"], pk__in=checkout.checkout_products.values("product_id")
            ).first()
            if product is None or product.is_archived:
                raise _invalid(("body", "product_id"), "Product is not part of this checkout.")
        product_price = _static_price(product, checkout.currency)
        if changes.get("product_price_id") is not None:
            product_price = product.all_prices.filter(
                pk=changes["product_price_id"], is_archived=False, price_currency=checkout.currency
            ).first()
            if product_price is None:
                raise _invalid(("body", "product_price_id"), "Price is not a price of the selected product.")
        if product_price is None:
            raise _invalid(("body", "product_id"), f"Product has no price in {checkout.currency.upper()}.")
        discount = checkout.discount
        if "discount_id" in changes and not public:
            discount = None
            if changes["discount_id"] is not None:
                discount = Discount.objects.filter(
                    organization=checkout.organization, pk=changes["discount_id"], deleted_at__isnull=True
                ).first()
                if discount is None:
                    raise _invalid(("body", "discount_id"), "Discount does not exist.")
        if public and changes.get("discount_code"):
            if not checkout.allow_discount_codes:
                raise _invalid(("body", "discount_code"), "Discount codes are not allowed on this checkout.")
            discount = discount_by_code(organization=checkout.organization, code=changes["discount_code"])
        if discount is not None and (discount != checkout.discount or product != checkout.product):
            problem = discount_unusable_reason(
                discount=discount, product=product, customer=checkout.customer, currency=checkout.currency
            )
            if problem is not None:
                loc = "discount_code" if public and changes.get("discount_code") else "discount_id"
                raise _invalid(("body", loc), problem[1])
        seats = changes.get("seats", checkout.seats)
        if product.is_recurring:
            seats = subscription_services.validate_seats(
                list(product.all_prices.filter(is_archived=False, price_currency=checkout.currency)), seats
            )
        elif seats is not None:
            raise _invalid(("body", "seats"), "Seats can only be set on a seat-based product.")
        if (answers := changes.get("custom_field_data")) is not None:
            checkout.custom_field_data = custom_field_data_validate(product=product, data=answers, required=False)
        for name in _PUBLIC_FIELDS if public else _MERCHANT_FIELDS:
            if name in changes:
                value = changes[name]
                setattr(checkout, name, _NOT_NULL.get(name, value) if value is None else value)
        units = changes.get("units", checkout.units if product == checkout.product else None)
        checkout.units = subscription_services.validate_product_units(product, checkout.currency, units)
        checkout.product, checkout.product_price, checkout.discount, checkout.seats = product, product_price, discount, seats
        if checkout.success_url:
            checkout.success_url = checkout_success_url(checkout)
        preview = checkout_preview(checkout, product=product, discount=discount, seats=seats)
        _validate_amount(preview, loc=("body", "seats") if seats is not None else ("body", "product_id"))
        for name, value in preview.items():
            if name != "tax_rate_bps":
                setattr(checkout, name, value)
        checkout.modified_at = now
        checkout.save()
        _emit(checkout, WebhookEventType.CHECKOUT_UPDATED)
    return checkout


def checkout_open(**kwargs) -> Checkout:
    """``checkout_create`` for the API: in the same transaction, the ``{CHECKOUT_ID}`` placeholder of
    ``success_url`` is replaced by the new checkout's id (the hosted page redirects to the stored URL)."""
    with transaction.atomic():
        checkout = checkout_create(**kwargs)
        if checkout.success_url and checkout_success_url(checkout) != checkout.success_url:
            checkout.success_url = checkout_success_url(checkout)
            checkout.save(update_fields=["success_url"])
    return checkout
