"""The receipt a customer gets when an order is paid (HTML and text, templates/emails/order_receipt.*).

Sent by the Celery task ``billing.tasks.order_receipt_send``, which the paid path enqueues after its
transaction commits (``billing.orders.services``). At most one receipt per order: the send is claimed
with an atomic Redis ``SET NX`` (``cache.add``) on ``receipt:<order id>`` before the mail goes out and
released when sending fails, so a re-run task, a retried delivery or two workers never send a second one.
(A ``receipt_sent_at`` column would survive a Redis flush, but needs a migration of the order table; the
marker is kept for ``RECEIPT_MARKER_TTL``, far longer than any retry.)

Free orders (nothing to pay, created paid) get a receipt too, worded as a confirmation. The invoice link
is the e-mail's own signed link (``invoice_email_path``: ``INVOICE_EMAIL_URL_MAX_AGE``, 30 days by
default). The link into the customer portal is made by ``portal_url_for(customer)``, which the Celery
task passes in: the portal (``billing.portal``) reads orders, so orders cannot import it back.)"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from billing.models import Order, OrderStatus
from billing.orders.pages import invoice_email_path
from polar.money import format_amount

logger = structlog.get_logger(__name__)

RECEIPT_MARKER_TTL = 180 * 24 * 3600
_RECEIPT_STATUSES = (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED)


def _marker(order_id) -> str:
    return f"billing:receipt:{order_id}"


def order_receipt_context(order: Order, *, portal_url: str | None = None) -> dict:
    def fmt(amount):
        return format_amount(amount, order.currency)

    items = [
        {
            "label": item.label,
            "amount": fmt(item.amount),
            "tax": fmt(item.tax_amount) if item.tax_amount else "",
            "tax_rate": f"{item.tax_rate_bps / 100:g} %",
        }
        for item in order.items.all()
    ]
    customer = order.customer
    return {
        "order": order,
        "organization": order.organization,
        "customer_name": order.billing_name or customer.billing_name or customer.name,
        "items": items,
        "totals": {name: fmt(getattr(order, f"{name}_amount")) for name in ("subtotal", "discount", "tax", "applied_balance")},
        "total": fmt(order.total_amount),
        "invoice_url": settings.PUBLIC_BASE_URL.rstrip("/") + invoice_email_path(order),
        "portal_url": portal_url,
        # Nothing was charged (a free order, or one the customer's credit covered): confirmed, not paid.
        "free": order.due_amount == 0,
    }


def order_receipt_send(order_id, *, portal_url_for: Callable[[object], str | None] | None = None, again: bool = False) -> bool:
    """Email the receipt of a paid (or free) order to its customer, once. Returns whether a mail was sent
    now. ``portal_url_for(customer)`` gives the link into the customer portal (none when not given).
    ``again``: a staff member asked for it to be sent again (the support pages): sent whatever the
    once-marker says, which is left as it is."""
    order = Order.objects.select_related("organization", "customer").filter(pk=order_id).first()
    if order is None or order.status not in _RECEIPT_STATUSES or not order.customer.email:
        return False
    if not again and not cache.add(_marker(order.id), "sent", timeout=RECEIPT_MARKER_TTL):
        return False  # already sent (or being sent by another worker)
    try:
        context = order_receipt_context(order, portal_url=portal_url_for(order.customer) if portal_url_for else None)
    except Exception:
        if not again:
            cache.delete(_marker(order.id))
        raise
    message = EmailMultiAlternatives(
        subject=f"Your {'order confirmation' if context['free'] else 'receipt'} from {order.organization.name} — order {order.invoice_number}",
        body=render_to_string("emails/order_receipt.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.customer.email],
    )
    message.attach_alternative(render_to_string("emails/order_receipt.html", context), "text/html")
    try:
        message.send()
    except Exception:
        if not again:
            cache.delete(_marker(order.id))  # let a retry send it
        raise
    logger.info("order.receipt_sent", order_id=str(order.id))
    return True
