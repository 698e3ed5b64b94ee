"""The subscription's ``meters`` (Polar's SubscriptionMeter): each metered price with the units consumed so
far this period, the credited units and the running amount; a page of subscriptions costs the same number
of queries whatever its size."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from polar import clock
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card

from .conftest import T0, ingest, make_meter, metered_product, subscribe

pytestmark = pytest.mark.django_db


def _subscribed(organization, product, email):
    customer = CustomerFactory(organization=organization, email=email)
    attach_card(customer)
    return subscribe(organization, customer, product)


def test_meters_show_consumed_units_and_amount_so_far(api_client, organization):
    meter = make_meter(organization)
    product = metered_product(organization, meter, unit_amount="0.5")
    subscription = _subscribed(organization, product, "m@example.com")
    ingest(organization, subscription.customer, T0 + dt.timedelta(days=2), 7)
    ingest(organization, subscription.customer, T0 - dt.timedelta(days=2), 5)  # before the period: not counted
    with clock.freeze(T0 + dt.timedelta(days=3)):
        body = api_client.get(f"/v1/subscriptions/{subscription.id}").json()
    [entry] = body["meters"]
    assert entry["meter_id"] == str(meter.id) and entry["meter"]["name"] == "API calls"
    assert entry["consumed_units"] == 7.0 and entry["credited_units"] == 0
    assert entry["amount"] == 4  # 7 × 0.5 = 3.5, rounded half away from zero
    assert set(entry) == {"created_at", "modified_at", "id", "consumed_units", "credited_units", "amount", "meter_id", "meter"}


def test_a_subscription_without_metered_prices_has_no_meters(api_client, organization):
    from tests.factories.subscriptions import monthly_product

    subscription = _subscribed(organization, monthly_product(organization), "f@example.com")
    assert api_client.get(f"/v1/subscriptions/{subscription.id}").json()["meters"] == []


def _list_queries(api_client) -> tuple[int, dict]:
    with clock.freeze(T0 + dt.timedelta(days=3)), CaptureQueriesContext(connection) as queries:
        body = api_client.get("/v1/subscriptions/", {"limit": 100}).json()
    return len(queries.captured_queries), body


def test_the_list_computes_meters_without_a_query_per_subscription(api_client, organization):
    meter = make_meter(organization)
    product = metered_product(organization, meter, unit_amount="1")
    subscriptions = [_subscribed(organization, product, f"s{i}@example.com") for i in range(2)]
    for index, subscription in enumerate(subscriptions):
        ingest(organization, subscription.customer, T0 + dt.timedelta(days=1), index + 1)
    _list_queries(api_client)  # warm: the first request of a token reads what later ones find cached
    few, body = _list_queries(api_client)
    assert sorted(item["meters"][0]["consumed_units"] for item in body["items"]) == [1.0, 2.0]
    for i in range(2, 6):
        _subscribed(organization, product, f"s{i}@example.com")
    many, body = _list_queries(api_client)
    assert len(body["items"]) == 6
    assert many == few
