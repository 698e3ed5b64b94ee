"""The printable invoice page: a paid order shows what was paid and nothing due; a pending one, what is due."""

import pytest

from billing.orders import services as order_services
from billing.orders.pages import invoice_signed_path
from tests.factories.subscriptions import pending_order

pytestmark = pytest.mark.django_db


def _totals_row(html, label):
    start = html.index(f"<td>{label}</td>")
    return html[start : html.index("</tr>", start)]


def test_a_pending_order_shows_its_amount_due(customer, client):
    order = pending_order(customer, amount=2000)
    html = client.get(invoice_signed_path(order)).content.decode()
    assert "$20.00" in _totals_row(html, "Amount due")
    assert "Amount paid" not in html


def test_a_paid_order_shows_the_amount_paid_and_nothing_due(customer, client):
    order = order_services.order_mark_paid(order=pending_order(customer, amount=2000))
    assert order.due_amount == 2000  # stored as what was asked; the page must not show it as still due
    html = client.get(invoice_signed_path(order)).content.decode()
    assert "$20.00" in _totals_row(html, "Amount paid")
    assert "$0.00" in _totals_row(html, "Amount due")
    assert "Amount paid: $20.00 · Amount due: $0.00" in html


def test_a_void_order_has_nothing_due(customer, client):
    order = order_services.order_void(order=pending_order(customer, amount=2000))
    html = client.get(invoice_signed_path(order)).content.decode()
    assert "$0.00" in _totals_row(html, "Amount due")


def test_a_bad_signature_is_a_404(customer, client):
    order = pending_order(customer, amount=2000)
    assert client.get(f"/invoices/{order.id}/nope").status_code == 404
