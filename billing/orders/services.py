"""Orders: pricing them through the engine, numbering them, and charging them.

Two entry points matter to other areas:

- ``order_create(...)``: inside the caller's transaction, prices a ``PricingInput`` with
  ``billing.pricing.price``, allocates the next gapless invoice number (``InvoiceCounter`` row locked
  with ``select_for_update``), inserts the order and its items, stores the pricing inputs, and emits
  ``order.created`` (and ``order.paid`` when nothing is due). The unique constraint
  (subscription, period_start, billing_reason) raises ``IntegrityError`` for a duplicate renewal.
- ``order_charge(...)``: **outside** any transaction, charges what is due with an idempotency key
  derived from the order and the attempt number, then records the outcome in its own transaction.

Pricing helpers (``price_version_for``, ``line_for``, ``discount_input_for``, ``tax_rate_bps_for``)
turn our rows into the engine's pure inputs; renewals use them too.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from decimal import Decimal

import structlog
from django.db import transaction

from billing import metrics as billing_metrics
from billing.catalog.price_versions import price_version_for
from billing.models import (
    Discount,
    InvoiceCounter,
    Order,
    OrderBillingReason,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentMethod,
    ProductPrice,
    TaxRate,
)
from billing.orders.payloads import OrderOutput
from billing.pricing import (
    DiscountInput,
    LineInput,
    Period,
    PricingInput,
    price,
)
from polar import clock
from polar.errors import ConflictError, PolarRequestValidationError
from polar.webhooks.events import WebhookEventType
from polar.webhooks.services import webhook_event_emit

logger = structlog.get_logger(__name__)


# --- pricing inputs from our rows ----------------------------------------------------------------


def line_label(product_price: ProductPrice, *, product_name: str, seats: int | None = None, units: int | None = None) -> str:
    if product_price.amount_type == ProductPrice.AmountType.SEAT_BASED and seats is not None:
        return f"{product_name} ({seats} seat{'s' if seats != 1 else ''})"
    if product_price.amount_type == ProductPrice.AmountType.UNIT_BASED and units is not None:
        return f"{product_name} ({units:,} {product_price.unit_noun(units)})"
    return product_name


def line_for(
    product_price: ProductPrice,
    *,
    product_name: str,
    tax_rate_bps: int,
    seats: int | None = None,
    units: int | None = None,
    custom_amount: int | None = None,
    kind: str = "charge",
    period: Period | None = None,
    prorate_from: dt.datetime | None = None,
    label_prefix: str = "",
) -> LineInput:
    """One static (fixed/custom/seat/unit) line. Metered prices are billed in arrears by the renewal.
    ``units``: the quantity of a unit_based price (the engine makes one line item per tier reached)."""
    unit_based = product_price.amount_type == ProductPrice.AmountType.UNIT_BASED
    return LineInput(
        price=price_version_for(product_price, custom_amount=custom_amount),
        label=label_prefix + line_label(product_price, product_name=product_name, seats=seats, units=units),
        kind=kind,
        seats=seats if product_price.amount_type == ProductPrice.AmountType.SEAT_BASED else None,
        units=Decimal(units or 0) if unit_based else None,
        period=period,
        prorate_from=prorate_from,
        tax_rate_bps=tax_rate_bps,
    )


def discount_input_for(discount: Discount | None, *, applied_cycles: int = 0, first_order: bool = False) -> DiscountInput | None:
    """The engine's discount state: ``once`` applies only to the first order; ``repeating`` while
    ``duration_in_months`` cycles have not all been used (one cycle = one billing period)."""
    if discount is None:
        return None
    if discount.duration == Discount.Duration.ONCE:
        applies = first_order or applied_cycles == 0
        months_remaining = None
    elif discount.duration == Discount.Duration.REPEATING:
        months_remaining = max((discount.duration_in_months or 0) - applied_cycles, 0)
        applies = months_remaining > 0
    else:
        applies, months_remaining = True, None
    return DiscountInput(
        discount_id=str(discount.id),
        type=discount.type,
        basis_points=discount.basis_points,
        amounts={row.currency: row.amount for row in discount.amounts.all()},
        duration=discount.duration,
        months_remaining=months_remaining,
        applies=applies,
    )


def tax_rates_for(*, organization_ids) -> dict[tuple, int]:
    """Every tax rate of these organizations, as ``{(organization_id, country): basis_points}``: what
    ``tax_rate_bps_for(rates=...)`` looks up when pricing many orders at once."""
    return {
        (organization_id, country): bps
        for organization_id, country, bps in TaxRate.objects.filter(organization_id__in=list(organization_ids)).values_list(
            "organization_id", "country", "basis_points"
        )
    }


def tax_rate_bps_for(*, organization, customer=None, billing_address: dict | None = None, rates: dict | None = None) -> int:
    """The organization's rate for the buyer's country (billing address), zero where none applies.
    ``rates`` (from ``tax_rates_for``) answers without a query."""
    address = billing_address if billing_address is not None else getattr(customer, "billing_address", None)
    country = (address or {}).get("country")
    if not country:
        return 0
    country = str(country).upper()
    if rates is not None:
        return rates.get((organization.id, country), 0)
    rate = TaxRate.objects.filter(organization=organization, country=country).first()
    return rate.basis_points if rate else 0


# --- creating orders ------------------------------------------------------------------------------


def _emit(order: Order, *events: WebhookEventType) -> None:
    """Emit ``events`` for ``order`` with one rendering of the order (they describe the same state)."""

    order = Order.objects.select_related("organization", "customer", "product", "subscription", "discount").get(pk=order.pk)
    data = OrderOutput(order).data
    for event in events:
        webhook_event_emit(organization=order.organization, type=event, data=data)


def order_emit(order: Order, *events: WebhookEventType) -> None:
    """``_emit`` for the other order modules (draft orders)."""
    _emit(order, *events)


def order_invoice_numbers_next(organization, count: int = 1) -> list[tuple[int, str]]:
    """Allocate the next ``count`` numbers under the counter's row lock. The lock is held until the
    caller's transaction ends, which serialises numbering per organization; a rollback gives the
    numbers back (gapless)."""
    InvoiceCounter.objects.get_or_create(organization=organization)
    counter = InvoiceCounter.objects.select_for_update().get(organization=organization)
    first = counter.next_number
    counter.next_number = first + count
    counter.save(update_fields=["next_number"])
    prefix = (organization.slug or "INV").upper()[:24]
    return [(sequence, f"{prefix}-{sequence:06d}") for sequence in range(first, first + count)]


def lock_invoice_counters(organization_ids) -> None:
    """Lock the invoice counters of several organizations, in organization-id order, in the caller's
    transaction. A transaction that will number orders of more than one organization takes them all
    this way first, so two such transactions never hold one counter each while waiting for the other's."""
    ids = sorted(set(organization_ids))
    InvoiceCounter.objects.bulk_create([InvoiceCounter(organization_id=i) for i in ids], ignore_conflicts=True)
    list(InvoiceCounter.objects.select_for_update().filter(organization_id__in=ids).order_by("organization_id"))


def _next_invoice_number(organization) -> tuple[int, str]:
    return order_invoice_numbers_next(organization, 1)[0]


def order_items_from_lines(*, order: Order, lines, created_at=None) -> list[OrderItem]:
    """The (unsaved) items of ``order`` for the pricing engine's line items, in order."""
    extra = {"created_at": created_at} if created_at is not None else {}
    return [
        OrderItem(
            order=order,
            label=line.label[:512],
            amount=line.amount,
            discount_amount=line.discount_amount,
            tax_amount=line.tax_amount,
            tax_rate_bps=line.tax_rate_bps,
            proration=line.proration,
            product_price_id=uuid.UUID(line.price_id),
            period_start=line.period_start,
            period_end=line.period_end,
            position=index,
            **extra,
        )
        for index, line in enumerate(lines)
    ]


_FULFILLED_BY_REQUEST = frozenset(
    {OrderBillingReason.PURCHASE, OrderBillingReason.SUBSCRIPTION_CREATE, OrderBillingReason.SUBSCRIPTION_UPDATE}
)


def order_build(
    *,
    organization,
    customer,
    billing_reason: str,
    pricing_input: PricingInput,
    result=None,
    product=None,
    subscription=None,
    checkout=None,
    discount: Discount | None = None,
    seats: int | None = None,
    applied_balance: int = 0,
    period_start: dt.datetime | None = None,
    description: str = "",
    metadata: dict | None = None,
) -> tuple[Order, list]:
    """The unsaved order for ``pricing_input`` (priced here unless ``result`` is given) and the engine's
    line items; no invoice number yet. ``order_create`` and the renewal batch both write what this builds."""
    if billing_reason not in OrderBillingReason.values:
        raise ValueError(f"unknown billing reason {billing_reason!r}")
    result = result if result is not None else price(pricing_input)
    applied = max(0, min(applied_balance, result.total_amount))
    due = max(result.total_amount - applied, 0)
    # Custom field answers follow the purchase: the checkout's, then the subscription's on each renewal.
    answers = checkout.custom_field_data if checkout is not None else getattr(subscription, "custom_field_data", None)
    order = Order(
        organization=organization,
        customer=customer,
        product=product,
        subscription=subscription,
        checkout=checkout,
        discount=discount,
        billing_reason=billing_reason,
        status=OrderStatus.PENDING if due > 0 else OrderStatus.PAID,
        currency=result.currency,
        subtotal_amount=result.subtotal_amount,
        discount_amount=result.discount_amount,
        net_amount=result.net_amount,
        tax_amount=result.tax_amount,
        total_amount=result.total_amount,
        applied_balance_amount=applied,
        due_amount=due,
        pricing_inputs=pricing_input.to_dict(),
        pricing_version=PricingInput.VERSION,
        period_start=period_start or pricing_input.period.start,
        period_end=pricing_input.period.end,
        seats=seats,
        billing_name=customer.billing_name or customer.name,
        billing_address=customer.billing_address,
        description=description[:512],
        metadata=metadata or {},
        custom_field_data=answers or {},
        paid_at=None if due > 0 else clock.now(),
        # The fulfilment crash marker (docs/fulfilment.md): an order its own request charges and then
        # fulfils; cleared by billing.fulfilment.services.order_fulfil.
        awaiting_fulfilment=due > 0 and billing_reason in _FULFILLED_BY_REQUEST,
    )
    return order, list(result.lines)


def order_create(
    *,
    organization,
    customer,
    billing_reason: str,
    pricing_input: PricingInput,
    product=None,
    subscription=None,
    checkout=None,
    discount: Discount | None = None,
    seats: int | None = None,
    applied_balance: int = 0,
    period_start: dt.datetime | None = None,
    description: str = "",
    metadata: dict | None = None,
) -> Order:
    """Price ``pricing_input`` and write the order, its items and its invoice number.

    Must run inside the caller's ``transaction.atomic()`` (it also opens one). ``applied_balance`` is
    credit the caller takes off the total (never more than the total). ``period_start`` defaults to the
    pricing period's start; a ``subscription_update`` passes the change instant. The order is ``pending`` when
    something is due, else ``paid`` at once (``paid_at`` now). Emits ``order.created`` (+ ``order.paid``).
    A second order for the same (subscription, period_start, billing_reason) raises ``IntegrityError``.
    """
    order, lines = order_build(
        organization=organization,
        customer=customer,
        billing_reason=billing_reason,
        pricing_input=pricing_input,
        product=product,
        subscription=subscription,
        checkout=checkout,
        discount=discount,
        seats=seats,
        applied_balance=applied_balance,
        period_start=period_start,
        description=description,
        metadata=metadata,
    )
    with transaction.atomic():
        order.invoice_sequence, order.invoice_number = _next_invoice_number(organization)
        order.save(force_insert=True)
        OrderItem.objects.bulk_create(order_items_from_lines(order=order, lines=lines))
        paid = (WebhookEventType.ORDER_PAID,) if order.status == OrderStatus.PAID else ()
        _emit(order, WebhookEventType.ORDER_CREATED, *paid)
        if paid:  # nothing to charge: created paid, and confirmed by a receipt like any paid order
            _receipt_after_commit(order.id)
    billing_metrics.order_created(billing_reason)
    return order


class OrderNotPayable(ConflictError):
    error = "OrderNotPayable"


def order_void(*, order: Order) -> Order:
    """Void a pending order nobody will pay (a declined plan change). Locks the order; idempotent."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status == OrderStatus.VOID:
            return locked
        if locked.status != OrderStatus.PENDING:
            raise OrderNotPayable(f"Order {locked.id} is {locked.status}; only a pending order can be voided.")
        locked.status = OrderStatus.VOID
        locked.modified_at = clock.now()
        locked.save(update_fields=["status", "modified_at"])
        _emit(locked, WebhookEventType.ORDER_UPDATED)
    return locked


def _in_transaction() -> bool:
    """True inside an ``atomic()`` block of ours (the test case's wrapping transaction does not count)."""
    connection = transaction.get_connection()
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _attempt_for(order: Order) -> int:
    """The attempt number to use now: reuse the key of a charge still pending or already succeeded
    (``payment_charge`` then reconciles or returns it instead of charging again), else the next one."""
    payments = list(Payment.objects.filter(order_id=order.id).order_by("created_at").values_list("status", "idempotency_key"))
    for status, key in payments:
        if status in (Payment.Status.PENDING, Payment.Status.SUCCEEDED):
            return int(key.rsplit(":", 1)[1])
    return len(payments) + 1


def order_charge(*, order: Order, payment_method: PaymentMethod, trigger: str | None = None) -> Payment | None:
    """Charge an order's ``due_amount`` to ``payment_method``; return the ``Payment`` (None if nothing was due).

    Call it with **no transaction open** (the processor must not be called while we hold row locks).
    The key is ``order:<id>:attempt:<n>``: a crash or a retry after the ``Payment`` row was written
    reuses the same key, so the processor charges at most once per attempt; a new attempt is only
    made after the previous one failed. On success the order becomes ``paid`` (row locked, in its own
    transaction) and ``order.updated``/``order.paid`` are emitted; should that fail, the succeeded
    ``Payment`` is still returned (after a charge nothing raises) and the order is marked paid by a
    beat step (``fulfilment_sweep``, ``renewal_orders_settle``): callers decide on ``payment.status``,
    not on ``order.paid``. A decline leaves the order
    ``pending`` and returns the failed ``Payment`` (the caller decides what a decline means).
    """
    from billing.payments.services import payment_charge

    if _in_transaction():
        raise RuntimeError("order_charge must be called outside a transaction")
    order.refresh_from_db()
    if order.status != OrderStatus.PENDING:
        if order.paid:
            return Payment.objects.filter(order_id=order.id, status=Payment.Status.SUCCEEDED).first()
        raise OrderNotPayable(f"Order {order.id} is {order.status}.")
    if order.due_amount <= 0:
        return None
    attempt = _attempt_for(order)
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.payment_attempts < attempt:
            locked.payment_attempts = attempt
            locked.save(update_fields=["payment_attempts"])
    payment = payment_charge(
        customer=order.customer,
        payment_method=payment_method,
        amount=order.due_amount,
        currency=order.currency,
        idempotency_key=order.payment_idempotency_key(attempt),
        order_id=order.id,
        checkout_id=order.checkout_id,
        trigger=trigger
        or (
            Payment.Trigger.SUBSCRIPTION_CYCLE
            if order.billing_reason == OrderBillingReason.SUBSCRIPTION_CYCLE
            else Payment.Trigger.PURCHASE
        ),
        description=order.description or order.invoice_number,
    )
    if payment.status == Payment.Status.SUCCEEDED:
        try:
            order_mark_paid(order=order, payment=payment)
        except Exception:  # the money is taken: never fail the caller after it
            # The order stays pending with a succeeded payment: the fulfilment sweep (orders awaiting
            # fulfilment) and renewal_orders_settle (cycle orders) mark it paid later.
            logger.exception("order.mark_paid_deferred", order_id=str(order.id), payment_id=str(payment.id))
    return payment


_PAID_FIELDS = ["status", "paid_at", "next_payment_attempt_at", "modified_at"]


# The receipt task, sent by name (billing.tasks sits above the services): billing.orders.emails.
ORDER_RECEIPT_SEND_TASK = "billing.tasks.order_receipt_send"


def order_receipts_after_commit(order_ids) -> None:
    """Enqueue the receipt of each order written paid in the caller's transaction (the renewal batch's
    free orders), once it commits."""
    for order_id in order_ids:
        _receipt_after_commit(order_id)


def _receipt_after_commit(order_id) -> None:
    """Enqueue the receipt once the paid state is committed (a rolled-back payment sends nothing; a
    broker error is logged, never raised into the committed request: robust)."""

    def send():
        from polar.celery import app as celery_app

        celery_app.signature(ORDER_RECEIPT_SEND_TASK).delay(str(order_id))

    transaction.on_commit(send, robust=True)


def _set_paid(order: Order, now) -> None:
    """A pending order becomes paid (in memory; the caller saves ``_PAID_FIELDS`` under the row lock)
    and its receipt is enqueued for after the commit."""
    order.status = OrderStatus.PAID
    order.paid_at = now
    order.next_payment_attempt_at = None
    order.modified_at = now
    _receipt_after_commit(order.id)


def order_mark_paid(*, order: Order, payment: Payment | None = None) -> Order:
    """Record that ``order`` is paid. Locks the order; idempotent (a paid order is returned as it is).
    Emits ``order.updated`` and ``order.paid``."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status == OrderStatus.PENDING:
            _set_paid(locked, clock.now())
            locked.save(update_fields=_PAID_FIELDS)
            _emit(locked, WebhookEventType.ORDER_UPDATED, WebhookEventType.ORDER_PAID)
    order.refresh_from_db()
    return order


def orders_mark_paid(orders: list[Order], *, attempt: int) -> None:
    """``order_mark_paid`` for several orders whose charge attempt ``attempt`` succeeded (the renewal
    batch): one lock of those still pending, one UPDATE (``payment_attempts`` raised to ``attempt``
    with it), one audit INSERT, one events INSERT. The orders given are expected with their related
    rows loaded (and their items, when known), which the payloads are rendered from."""
    if not orders:
        return
    from polar.audit import audit_log_many
    from polar.db import bulk_update_rows
    from polar.webhooks.services import webhook_events_emit

    fields = [*_PAID_FIELDS, "payment_attempts"]
    by_id = {o.id: o for o in orders}
    now = clock.now()
    with transaction.atomic():
        locked = list(
            Order.objects.select_for_update()
            .defer("pricing_inputs")
            .filter(pk__in=list(by_id), status=OrderStatus.PENDING)
            .order_by("pk")
        )
        audit = []
        for row in locked:
            before = copy.copy(row)
            _set_paid(row, now)
            row.payment_attempts = max(row.payment_attempts, attempt)
            audit.append((row, before, fields))
        bulk_update_rows(locked, fields)
        audit_log_many(audit, created=False)
        items = {
            o.id: o._prefetched_objects_cache["items"] for o in orders if "items" in getattr(o, "_prefetched_objects_cache", {})
        }
        unknown = [row.id for row in locked if row.id not in items]
        for item in OrderItem.objects.filter(order_id__in=unknown).order_by("position", "created_at"):
            items.setdefault(item.order_id, []).append(item)
        emitted = []
        for row in locked:
            known = by_id[row.id]  # related rows already loaded with the order
            for name in ("organization", "customer", "product", "discount", "subscription"):
                if getattr(row, f"{name}_id", None) is not None:
                    setattr(row, name, getattr(known, name))
            row._prefetched_objects_cache = {"items": items.get(row.id, [])}
            data = OrderOutput(row).data
            emitted += [
                (row.organization, WebhookEventType.ORDER_UPDATED, data),
                (row.organization, WebhookEventType.ORDER_PAID, data),
            ]
        webhook_events_emit(emitted)


# --- merchant edits ------------------------------------------------------------------------------


def order_update(*, order: Order, **changes) -> Order:
    """Change what the invoice shows: ``billing_name`` and ``billing_address`` (Polar's ``OrderUpdate``).

    Locks the order row. Once an order has an address, its country and state are fixed (they decided the
    tax charged): changing them is a 422 on that field, nothing written. Emits ``order.updated``."""
    with transaction.atomic():
        locked = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
        address, current = changes.get("billing_address"), locked.billing_address
        if address is not None and current and current.get("country"):
            errors = [
                {"loc": ["body", "billing_address", name], "msg": f"{name.capitalize()} cannot be changed", "type": "value_error"}
                for name in ("country", "state")
                if (address.get(name) or None) != (current.get(name) or None)
            ]
            if errors:
                raise PolarRequestValidationError(errors)
        for name in ("billing_name", "billing_address"):
            if name in changes:
                setattr(locked, name, changes[name])
        locked.modified_at = clock.now()
        locked.save()
        _emit(locked, WebhookEventType.ORDER_UPDATED)
    return locked


class OrderNotEligibleForInvoice(ConflictError):
    error = "OrderNotEligibleForInvoice"


class MissingInvoiceBillingDetails(ConflictError):
    status_code = 422
    error = "MissingInvoiceBillingDetails"


def order_invoice_check(*, order: Order) -> None:
    """Whether an invoice can be generated for ``order`` (Polar's ``POST /v1/orders/{id}/invoice``): a void
    order has none (409), and an invoice names its buyer (422 without a billing name and address). Our
    invoice is rendered when it is opened, from the order as it is then: nothing to generate or store."""
    if order.status == OrderStatus.VOID:
        raise OrderNotEligibleForInvoice(
            f"Order {order.id} is not eligible for invoice generation (current status: {order.status})."
        )
    if not order.billing_name or not (order.billing_address or {}).get("country"):
        raise MissingInvoiceBillingDetails("Billing name and address are required to generate an invoice for this order.")
