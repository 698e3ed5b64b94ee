"""Server-rendered pages of orders: the invoice behind the signed link (``GET /v1/orders/{id}/invoice``
answers with that link). The page reads the order only."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import Http404
from django.shortcuts import render

from billing.models import Order
from polar import money
from polar.pages import status_badge

_INVOICE_SALT = "billing.invoice"


def invoice_signed_path(order: Order) -> str:
    """The path of the invoice page for ``order``, signed so it opens without a token (until it expires)."""
    signature = signing.TimestampSigner(salt=_INVOICE_SALT).sign(str(order.id)).split(":", 1)[1]
    return f"/invoices/{order.id}/{signature}"


def invoice_page(request, order_id, signature):
    max_age = getattr(settings, "INVOICE_URL_MAX_AGE", 3600)
    try:
        signing.TimestampSigner(salt=_INVOICE_SALT).unsign(f"{order_id}:{signature}", max_age=max_age)
    except signing.BadSignature:
        raise Http404("Invoice link is invalid or expired")
    order = Order.objects.select_related("organization", "customer").filter(pk=order_id).first()
    if order is None:
        raise Http404("Invoice not found")

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
        for name in ("subtotal", "discount", "net", "tax", "total", "applied_balance", "due", "refunded")
    }
    tax_id = order.customer.tax_id if order.customer else None
    context = {
        "order": order,
        "organization": order.organization,
        "customer": order.customer,
        "items": items,
        "totals": totals,
        "status_badge": status_badge(order.status),
        # Polar's tax id is [value, type]; shown as "value (type)".
        "tax_id": f"{tax_id[0]} ({tax_id[1]})" if isinstance(tax_id, list) and len(tax_id) == 2 else tax_id,
    }
    return render(request, "invoices/invoice.html", context)
