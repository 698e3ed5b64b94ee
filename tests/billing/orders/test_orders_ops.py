"""Merchant operations on an order: update (billing name and address), generate the invoice (202),
the receipt; another organization's order is 404; bad input is 422 and writes nothing."""

import pytest

from billing.models import Order, OrderStatus
from billing.subscriptions.lifecycle import subscription_create
from polar.webhooks.models import WebhookEvent
from tests.factories.subscriptions import pending_order

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"}


@pytest.fixture
def paid_order(organization, customer, card, product):
    subscription = subscription_create(organization=organization, customer=customer, product=product, payment_method=card)
    return Order.objects.get(subscription=subscription)


def _updates():
    return WebhookEvent.objects.filter(type="order.updated").count()


def test_update_billing_name_and_address(api_client, paid_order):
    before = _updates()
    response = api_client.patch(
        f"/v1/orders/{paid_order.id}", {"billing_name": "Ada Lovelace Ltd", "billing_address": ADDRESS}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["billing_name"] == "Ada Lovelace Ltd"
    assert body["billing_address"] == {**ADDRESS, "line2": None, "state": None}
    paid_order.refresh_from_db()
    assert paid_order.billing_address["city"] == "Paris"
    assert _updates() == before + 1
    # The street can change; the country (it decided the tax) cannot.
    moved = api_client.patch(f"/v1/orders/{paid_order.id}", {"billing_address": {**ADDRESS, "line1": "2 Rue"}}, format="json")
    assert moved.status_code == 200 and moved.json()["billing_address"]["line1"] == "2 Rue"
    refused = api_client.patch(f"/v1/orders/{paid_order.id}", {"billing_address": {**ADDRESS, "country": "DE"}}, format="json")
    assert refused.status_code == 422
    assert [e["loc"] for e in refused.json()["detail"]] == [["body", "billing_address", "country"]]
    paid_order.refresh_from_db()
    assert paid_order.billing_address["country"] == "FR" and paid_order.billing_address["line1"] == "2 Rue"


def test_update_refuses_bad_input(api_client, paid_order):
    before = _updates()
    for body, loc in (
        ({"billing_address": {"country": "XX"}}, ["body", "billing_address", "country"]),
        ({"billing_address": "Paris"}, ["body", "billing_address"]),
        ({"billing_name": "x" * 300}, ["body", "billing_name"]),
    ):
        response = api_client.patch(f"/v1/orders/{paid_order.id}", body, format="json")
        assert response.status_code == 422, response.content
        assert response.json()["detail"][0]["loc"] == loc
    assert _updates() == before


def test_generate_invoice_needs_billing_details(api_client, paid_order):
    Order.objects.filter(pk=paid_order.pk).update(billing_address=None)
    missing = api_client.post(f"/v1/orders/{paid_order.id}/invoice")
    assert missing.status_code == 422 and missing.json()["error"] == "MissingInvoiceBillingDetails"
    api_client.patch(f"/v1/orders/{paid_order.id}", {"billing_name": "Ada", "billing_address": ADDRESS}, format="json")
    response = api_client.post(f"/v1/orders/{paid_order.id}/invoice")
    assert response.status_code == 202 and response.content == b"null"
    # The invoice is there to read.
    assert "/invoices/" in api_client.get(f"/v1/orders/{paid_order.id}/invoice").json()["url"]


def test_void_order_has_no_invoice(api_client, customer):
    order = pending_order(customer)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.VOID, billing_name="Ada", billing_address=ADDRESS)
    response = api_client.post(f"/v1/orders/{order.id}/invoice")
    assert response.status_code == 409 and response.json()["error"] == "OrderNotEligibleForInvoice"


def test_receipt_of_paid_order_and_none_before(api_client, anonymous_client, paid_order, customer):
    body = api_client.get(f"/v1/orders/{paid_order.id}/receipt").json()
    path = body["url"].split("testserver")[-1]
    page = anonymous_client.get(path)
    assert page.status_code == 200 and paid_order.invoice_number in page.content.decode()
    unpaid = pending_order(customer)
    assert api_client.get(f"/v1/orders/{unpaid.id}/receipt").status_code == 404


def test_other_organization_gets_404_everywhere(other_api_client, paid_order):
    assert other_api_client.patch(f"/v1/orders/{paid_order.id}", {"billing_name": "Mine"}, format="json").status_code == 404
    assert other_api_client.post(f"/v1/orders/{paid_order.id}/invoice").status_code == 404
    assert other_api_client.get(f"/v1/orders/{paid_order.id}/receipt").status_code == 404
    paid_order.refresh_from_db()
    assert paid_order.billing_name != "Mine"


def test_update_needs_orders_write(organization, paid_order):
    from rest_framework.test import APIClient

    from polar.organizations.services import access_token_create

    _row, raw = access_token_create(organization=organization, comment="read", scopes=["orders:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.patch(f"/v1/orders/{paid_order.id}", {"billing_name": "x"}, format="json").status_code == 403
    assert client.get(f"/v1/orders/{paid_order.id}/receipt").status_code == 200
