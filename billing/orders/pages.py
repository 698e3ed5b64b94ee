"""Server-rendered pages of orders: the invoice behind a signed link. The page reads the order only.

Two links open the same page without a token, signed with different salts so that neither can be
turned into the other:

- ``invoice_signed_path``: what ``GET /v1/orders/{id}/invoice`` answers, valid ``INVOICE_URL_MAX_AGE``
  (one hour by default, like Polar's presigned link: the caller fetches it when it needs it);
- ``invoice_email_path``: the link in the receipt e-mail, valid ``INVOICE_EMAIL_URL_MAX_AGE`` (30 days by
  default), because a customer opens an e-mail days later.

The customer portal renders the same invoice for its own signed-in customer (``invoice_render``)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core import signing
from django.http import Http404
from django.shortcuts import render

from billing.models import Order, OrderStatus
from polar import money
from polar.pages import status_badge

_INVOICE_SALT = "billing.invoice"
_INVOICE_EMAIL_SALT = "billing.invoice.email"
# The order's money was taken (a refund later does not make it unpaid).
_PAID_STATUSES = (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED)


def _sign(order: Order, salt: str) -> str:
    signature = signing.TimestampSigner(salt=salt).sign(str(order.id)).split(":", 1)[1]
    return f"/invoices/{order.id}/{signature}"


def invoice_signed_path(order: Order) -> str:
    """The path of the invoice page for ``order``, signed so it opens without a token (until it expires)."""
    return _sign(order, _INVOICE_SALT)


def invoice_email_path(order: Order) -> str:
    """The invoice path for an e-mail: the same page, signed to stay valid ``INVOICE_EMAIL_URL_MAX_AGE``."""
    return _sign(order, _INVOICE_EMAIL_SALT)


def _signature_valid(order_id, signature) -> bool:
    links = (
        (_INVOICE_SALT, getattr(settings, "INVOICE_URL_MAX_AGE", 3600)),
        (_INVOICE_EMAIL_SALT, getattr(settings, "INVOICE_EMAIL_URL_MAX_AGE", 30 * 24 * 3600)),
    )
    for salt, max_age in links:
        try:
            signing.TimestampSigner(salt=salt).unsign(f"{order_id}:{signature}", max_age=max_age)
        except signing.BadSignature:
            continue
        return True
    return False


def invoice_page(request, order_id, signature):
    if not _signature_valid(order_id, signature):
        raise Http404("Invoice link is invalid or expired")
    order = Order.objects.select_related("organization", "customer").filter(pk=order_id).first()
    if order is None:
        raise Http404("Invoice not found")
    return invoice_render(request, order)


def invoice_context(order: Order) -> dict:
    """What ``templates/invoices/invoice.html`` shows for ``order`` (amounts formatted as money)."""

    def fmt(amount):
        return money.format_amount(amount, order.currency)

    items = [
        {
            "label": item.label,
            "period_start": item.period_start,
            "period_end": item.period_end,
            "proration": item.proration,
            "amount": fmt(item.amount),
            "discount": fmt(item.discount_amount) if item.discount_amount else "",
            "tax_rate": f"{item.tax_rate_bps / 100:g} %",
            "tax": fmt(item.tax_amount),
        }
        for item in order.items.all()
    ]
    totals = {
        name: fmt(getattr(order, f"{name}_amount"))
        for name in ("subtotal", "discount", "net", "tax", "total", "applied_balance", "refunded")
    }
    # ``due_amount`` is what the order asked to be paid (total less credit) and stays so once paid: a paid
    # order shows it as paid and nothing due; only a pending order still has it due; a void one, nothing.
    paid = order.status in _PAID_STATUSES
    totals["paid"] = fmt(order.due_amount if paid else 0)
    totals["due"] = fmt(order.due_amount if order.status == OrderStatus.PENDING else 0)
    tax_id = order.customer.tax_id if order.customer else None
    return {
        "order": order,
        "organization": order.organization,
        "customer": order.customer,
        "items": items,
        "totals": totals,
        "is_paid": paid,
        "status_badge": status_badge(order.status),
        # Polar's tax id is [value, type]; shown as "value (type)".
        "tax_id": f"{tax_id[0]} ({tax_id[1]})" if isinstance(tax_id, list) and len(tax_id) == 2 else tax_id,
    }


def _site_css() -> str:
    path = finders.find("polar/site.css")
    return Path(path).read_text(encoding="utf-8") if path else ""


def invoice_render(request, order: Order, *, download: bool = False, extra: dict | None = None):
    """The invoice page of ``order`` (the caller has checked who may read it). ``download`` answers it as
    an attachment (``invoice-<number>.html``, printable as it is)."""
    context = {**invoice_context(order), **(extra or {})}
    if download:
        # A saved file opens without the site: its stylesheet goes inside it.
        context["inline_css"] = _site_css()
    response = render(request, "invoices/invoice.html", context)
    if download:
        response["Content-Disposition"] = f'attachment; filename="invoice-{order.invoice_number}.html"'
    return response
