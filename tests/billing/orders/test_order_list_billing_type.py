"""``GET /v1/orders/?product_billing_type=``: Polar's filter on the ordered product's billing type (both
SDKs send it); before it was known here it was ignored and every order was listed."""

import pytest

from billing.models import Order
from billing.subscriptions import lifecycle as subscription_lifecycle
from tests.factories.subscriptions import pending_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(organization, customer, product, card):
    subscription_lifecycle.subscription_create(organization=organization, customer=customer, product=product)
    renewal = Order.objects.get()
    purchase = pending_order(customer, amount=2500)
    return renewal, purchase


def _ids(api_client, query):
    response = api_client.get(f"/v1/orders/?{query}")
    assert response.status_code == 200, response.json()
    return {item["id"] for item in response.json()["items"]}


def test_one_time_lists_only_orders_of_one_time_products(api_client, orders):
    renewal, purchase = orders
    assert _ids(api_client, "product_billing_type=one_time") == {str(purchase.id)}


def test_recurring_lists_only_orders_of_recurring_products(api_client, orders):
    renewal, purchase = orders
    assert _ids(api_client, "product_billing_type=recurring") == {str(renewal.id)}


def test_both_types_list_every_order(api_client, orders):
    renewal, purchase = orders
    both = _ids(api_client, "product_billing_type=one_time&product_billing_type=recurring")
    assert both == {str(renewal.id), str(purchase.id)}


def test_unknown_type_is_422_with_loc(api_client, orders):
    response = api_client.get("/v1/orders/?product_billing_type=weekly")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["query", "product_billing_type"]
