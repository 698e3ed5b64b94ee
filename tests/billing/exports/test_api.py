"""CSV exports of customers, orders and subscriptions: Polar's columns and formats, filters, the
organization scope, streaming, and 422s on bad parameters."""

import csv
import io

import pytest
from django.http import StreamingHttpResponse

from billing.models import Order
from billing.subscriptions.lifecycle import subscription_create
from customers.models import Customer
from tests.factories import CustomerFactory
from tests.factories.subscriptions import percentage_discount

pytestmark = pytest.mark.django_db


def _csv(response):
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse) and response["Content-Type"] == "text/csv"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def subscribed(organization, customer, card, product):
    discount = percentage_discount(organization, basis_points=2500, code="QUARTER")
    return subscription_create(
        organization=organization, customer=customer, product=product, payment_method=card, discount=discount
    )


def test_customers_export_has_polars_columns(api_client, other_api_client, organization, other_organization):
    ada = CustomerFactory(
        organization=organization,
        email="ada@example.com",
        name="Ada, Countess",
        external_id="u-1",
        billing_address={"line1": "1 Main St", "city": "Paris", "postal_code": "75001", "country": "FR"},
        metadata={"plan": "gold"},
    )
    CustomerFactory(organization=other_organization, email="bob@globex.com")
    gone = CustomerFactory(organization=organization, email="gone@example.com")
    Customer.objects.filter(pk=gone.pk).update(deleted_at=ada.created_at)
    rows = _csv(api_client.get("/v1/customers/export"))
    assert rows[0] == [
        "ID", "External ID", "Created At", "Email", "Name", "Tax ID", "Billing Address Line 1", "Billing Address Line 2",
        "Billing Address City", "Billing Address State", "Billing Address Zip", "Billing Address Country", "Metadata",
    ]  # fmt: skip
    assert rows[1:] == [
        [str(ada.id), "u-1", ada.created_at.isoformat(), "ada@example.com", "Ada, Countess", "", "1 Main St", "", "Paris", "",
         "75001", "FR", '{"plan": "gold"}'],
    ]  # fmt: skip
    assert [r[3] for r in _csv(other_api_client.get("/v1/customers/export"))[1:]] == ["bob@globex.com"]
    # Naming another organization exports nothing of it.
    assert _csv(api_client.get("/v1/customers/export", {"organization_id": str(other_organization.id)})) == [rows[0]]


def test_orders_export_default_and_chosen_columns(api_client, other_api_client, subscribed, customer):
    order = Order.objects.get(subscription=subscribed)
    rows = _csv(api_client.get("/v1/orders/export"))
    assert rows == [
        ["Email", "Created At", "Product", "Net Amount", "Currency", "Status", "Invoice number"],
        ["ada@example.com", order.created_at.isoformat(), order.description or "Pro", "7.5", "usd", "paid", order.invoice_number],
    ]
    chosen = _csv(
        api_client.get(
            "/v1/orders/export", {"columns": ["total_amount", "billing_reason", "discount_amount"], "timezone": "Asia/Tokyo"}
        )
    )
    assert chosen == [["Total", "Billing Reason", "Discount"], ["7.5", "subscription_create", "2.5"]]
    tokyo = _csv(api_client.get("/v1/orders/export", {"columns": ["created_at"], "timezone": "Asia/Tokyo"}))
    assert tokyo[1][0].endswith("+09:00")
    assert _csv(api_client.get("/v1/orders/export", {"status": "refunded"}))[1:] == []
    assert _csv(other_api_client.get("/v1/orders/export"))[1:] == []


def test_orders_export_date_filters_and_filename(api_client, subscribed):
    order = Order.objects.get(subscription=subscribed)
    after = (order.created_at.replace(microsecond=0)).isoformat()
    response = api_client.get("/v1/orders/export", {"created_before": after.replace("+00:00", "Z")})
    assert _csv(response)[1:] == []
    assert response["Content-Disposition"].startswith('attachment; filename="polar-orders-')
    assert len(_csv(api_client.get("/v1/orders/export", {"created_after": "2000-01-01T00:00:00+00:00"}))) == 2


def test_subscriptions_export(api_client, other_api_client, subscribed):
    rows = _csv(api_client.get("/v1/subscriptions/export"))
    assert rows[0] == ["Email", "Started At", "Product", "Amount", "Currency", "Status", "Billing Interval"]
    assert rows[1] == ["ada@example.com", subscribed.started_at.isoformat(), "Pro", "10.0", "usd", "active", "month"]
    more = _csv(api_client.get("/v1/subscriptions/export", {"columns": ["net_amount", "discount", "cancel_at_period_end"]}))
    assert more[1] == ["7.5", "QUARTER", "false"]
    assert _csv(api_client.get("/v1/subscriptions/export", {"cancel_at_period_end": "true"}))[1:] == []
    assert _csv(api_client.get("/v1/subscriptions/export", {"status": "canceled"}))[1:] == []
    assert _csv(other_api_client.get("/v1/subscriptions/export"))[1:] == []


@pytest.mark.parametrize(
    "path, params, loc",
    [
        ("/v1/orders/export", {"timezone": "Mars/Olympus"}, ["query", "timezone"]),
        ("/v1/orders/export", {"columns": "secret"}, ["query", "columns", 0]),
        ("/v1/orders/export", {"created_after": "2026-01-01T00:00:00"}, ["query", "created_after"]),
        ("/v1/orders/export", {"status": "lost"}, ["query", "status", 0]),
        ("/v1/subscriptions/export", {"started_after": "yesterday"}, ["query", "started_after"]),
        ("/v1/customers/export", {"organization_id": "nope"}, ["query", "organization_id", 0]),
    ],
)
def test_bad_parameters_answer_422(api_client, path, params, loc):
    response = api_client.get(path, params)
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == loc


def test_exports_need_their_read_scope(organization):
    from rest_framework.test import APIClient

    from polar.organizations.services import access_token_create

    _row, raw = access_token_create(organization=organization, comment="orders only", scopes=["orders:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/v1/orders/export").status_code == 200
    assert client.get("/v1/customers/export").status_code == 403
    assert client.get("/v1/subscriptions/export").status_code == 403
