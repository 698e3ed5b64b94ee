"""GET /v1/checkouts/: the organization's checkouts, Polar's filters (status as read, product, customer,
external customer, email query) and sorting."""

import datetime as dt

import pytest

from billing.models import Checkout
from tests.factories.subscriptions import monthly_product

pytestmark = pytest.mark.django_db


def _create(client, **body):
    response = client.post("/v1/checkouts/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _ids(client, query=""):
    response = client.get("/v1/checkouts/" + query)
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def test_list_filters_and_scoping(api_client, other_api_client, organization, other_organization, product):
    other_product = monthly_product(organization, name="Other", amount=500)
    first = _create(api_client, products=[str(product.id)], customer_email="ann@example.com", external_customer_id="ann")
    second = _create(api_client, products=[str(other_product.id)], customer_email="bob@example.com")
    expired = _create(api_client, products=[str(product.id)])
    Checkout.objects.filter(pk=expired["id"]).update(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    foreign = _create(other_api_client, products=[str(monthly_product(other_organization).id)])

    assert set(_ids(api_client)) == {first["id"], second["id"], expired["id"]}
    assert foreign["id"] not in _ids(api_client)
    assert set(_ids(api_client, f"?product_id={product.id}")) == {first["id"], expired["id"]}
    assert _ids(api_client, "?status=expired") == [expired["id"]]
    assert set(_ids(api_client, "?status=open")) == {first["id"], second["id"]}
    assert _ids(api_client, "?query=bob@") == [second["id"]]
    assert _ids(api_client, "?external_customer_id=ann") == [first["id"]]
    assert _ids(api_client, "?sorting=expires_at")[0] == expired["id"]
    assert _ids(api_client, f"?organization_id={other_organization.id}") == []
    assert api_client.get("/v1/checkouts/?status=bogus").status_code == 422
    item = api_client.get("/v1/checkouts/?status=expired").json()["items"][0]
    assert item["status"] == "expired" and item["client_secret"]
