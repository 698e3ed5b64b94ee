"""The CSV shapes of Polar's exports: the same columns, headers, defaults and value formats as Polar's
server (``customer/endpoints.py``, ``order/export.py``, ``subscription/export.py``).

Amounts are in major units as Polar writes them (``amount / 100``), except for zero-decimal currencies,
which have no minor unit (Polar divides those by 100 too, which reads wrong). Dates are ISO 8601 in the
time zone asked for."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal

from polar.money import ZERO_DECIMAL_CURRENCIES, round_minor_units


def csv_rows(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """Each row as one CSV line (Excel dialect, CRLF), the header first: a generator for a streamed response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect="excel")

    def line(values) -> str:
        writer.writerow(values)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return text

    yield line(header)
    for row in rows:
        yield line(row)


def major_units(amount: int | None, currency: str):
    if amount is None:
        return None
    return amount if currency in ZERO_DECIMAL_CURRENCIES else amount / 100


def _datetime(value, tz):
    return value.astimezone(tz).isoformat() if value is not None else None


def _country(address):
    return (address or {}).get("country") or None


# --- customers -----------------------------------------------------------------------------------

CUSTOMER_HEADER = (
    "ID",
    "External ID",
    "Created At",
    "Email",
    "Name",
    "Tax ID",
    "Billing Address Line 1",
    "Billing Address Line 2",
    "Billing Address City",
    "Billing Address State",
    "Billing Address Zip",
    "Billing Address Country",
    "Metadata",
)


def customer_row(customer) -> tuple:
    address = customer.billing_address or {}
    tax_id = customer.tax_id
    if isinstance(tax_id, list | tuple):
        tax_id = tax_id[0] if tax_id else None
    return (
        customer.id,
        customer.external_id,
        customer.created_at.isoformat(),
        customer.email,
        customer.name,
        tax_id,
        address.get("line1"),
        address.get("line2"),
        address.get("city"),
        address.get("state"),
        address.get("postal_code"),
        address.get("country"),
        json.dumps(customer.metadata) if customer.metadata else None,
    )


# --- orders --------------------------------------------------------------------------------------

ORDER_HEADERS = {
    "email": "Email",
    "created_at": "Created At",
    "product": "Product",
    "net_amount": "Net Amount",
    "currency": "Currency",
    "status": "Status",
    "invoice_number": "Invoice number",
    "customer_name": "Customer Name",
    "billing_name": "Billing Name",
    "billing_country": "Billing Country",
    "subtotal_amount": "Subtotal",
    "discount_amount": "Discount",
    "tax_amount": "Tax",
    "total_amount": "Total",
    "refunded_amount": "Refunded Amount",
    "billing_reason": "Billing Reason",
}
ORDER_DEFAULT_COLUMNS = ["email", "created_at", "product", "net_amount", "currency", "status", "invoice_number"]


def order_row(order, tz) -> dict:
    money = lambda amount: major_units(amount, order.currency)  # noqa: E731
    return {
        "email": order.customer.email,
        "created_at": _datetime(order.created_at, tz),
        "product": order.description or (order.product.name if order.product_id else None),
        "net_amount": money(order.net_amount),
        "currency": order.currency,
        "status": order.status,
        "invoice_number": order.invoice_number,
        "customer_name": order.customer.name,
        "billing_name": order.billing_name,
        "billing_country": _country(order.billing_address),
        "subtotal_amount": money(order.subtotal_amount),
        "discount_amount": money(order.discount_amount),
        "tax_amount": money(order.tax_amount),
        "total_amount": money(order.total_amount),
        "refunded_amount": money(order.refunded_amount),
        "billing_reason": order.billing_reason,
    }


# --- subscriptions -------------------------------------------------------------------------------

SUBSCRIPTION_HEADERS = {
    "email": "Email",
    "started_at": "Started At",
    "product": "Product",
    "amount": "Amount",
    "currency": "Currency",
    "status": "Status",
    "recurring_interval": "Billing Interval",
    "customer_name": "Customer Name",
    "billing_name": "Billing Name",
    "billing_country": "Billing Country",
    "net_amount": "Net Amount",
    "discount": "Discount",
    "seats": "Seats",
    "current_period_start": "Current Period Start",
    "current_period_end": "Current Period End",
    "cancel_at_period_end": "Cancels At Period End",
    "canceled_at": "Canceled At",
    "ends_at": "Ends At",
    "ended_at": "Ended At",
    "cancellation_reason": "Cancellation Reason",
    "trial_start": "Trial Start",
    "trial_end": "Trial End",
}
SUBSCRIPTION_DEFAULT_COLUMNS = ["email", "started_at", "product", "amount", "currency", "status", "recurring_interval"]


def _interval(subscription) -> str:
    if subscription.recurring_interval_count == 1:
        return subscription.recurring_interval
    return f"{subscription.recurring_interval_count} {subscription.recurring_interval}s"


def subscription_net_amount(subscription) -> int:
    """The amount less the discount the next cycle gets (Polar's ``net_amount``): ``once`` discounts are
    spent after the first order, ``repeating`` ones after ``duration_in_months`` cycles."""
    discount, amount = subscription.discount, subscription.amount
    if discount is None:
        return amount
    cycles = subscription.discount_applied_cycles
    if discount.duration == "once" and cycles > 0:
        return amount
    if discount.duration == "repeating" and cycles >= (discount.duration_in_months or 0):
        return amount
    if discount.type == "percentage":
        return amount - round_minor_units(Decimal(amount) * (discount.basis_points or 0) / 10000)
    fixed = {row.currency: row.amount for row in discount.amounts.all()}.get(subscription.currency, 0)
    return amount - min(amount, fixed)


def subscription_row(subscription, tz) -> dict:
    customer, discount = subscription.customer, subscription.discount
    amount = major_units(subscription.amount, subscription.currency)
    return {
        "email": customer.email,
        "started_at": _datetime(subscription.started_at, tz),
        "product": subscription.product.name,
        "amount": amount,
        "currency": subscription.currency,
        "status": subscription.status,
        "recurring_interval": _interval(subscription),
        "customer_name": customer.name,
        "billing_name": customer.billing_name,
        "billing_country": _country(customer.billing_address),
        "net_amount": major_units(subscription_net_amount(subscription), subscription.currency),
        "discount": (discount.code or discount.name) if discount else None,
        "seats": subscription.seats,
        "current_period_start": _datetime(subscription.current_period_start, tz),
        "current_period_end": _datetime(subscription.current_period_end, tz),
        "cancel_at_period_end": "true" if subscription.cancel_at_period_end else "false",
        "canceled_at": _datetime(subscription.canceled_at, tz),
        "ends_at": _datetime(subscription.ends_at, tz),
        "ended_at": _datetime(subscription.ended_at, tz),
        "cancellation_reason": subscription.customer_cancellation_reason,
        "trial_start": _datetime(subscription.trial_start, tz),
        "trial_end": _datetime(subscription.trial_end, tz),
    }


def filename(stem: str, after, before, tz) -> str:
    for bound in (after, before):
        if bound is not None:
            stem += f"-{bound.astimezone(tz).strftime('%Y-%m-%d')}"
    return f"{stem}.csv"
