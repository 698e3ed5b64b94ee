"""Each operator and aggregation against hand-computed expectations, buckets across DST, isolation."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.usage.services import meter_quantity
from billing.usage.sql import validate_aggregation, validate_filter
from tests.factories import CustomerFactory
from tests.factories.usage import MeterFactory

from .conftest import ingest

MONTH = (dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, tzinfo=dt.UTC))


@pytest.fixture
def dataset(api_client, customer, frozen_now):
    """Five events of one customer in November 2026 (numbers in the tests below are computed from these)."""
    c = str(customer.id)
    events = [
        {
            "name": "api_call",
            "customer_id": c,
            "timestamp": "2026-11-02T10:00:00Z",
            "metadata": {"tokens": 10, "model": "gpt-4", "cached": True, "_cost": {"amount": 1.5, "currency": "usd"}},
        },
        {
            "name": "api_call",
            "customer_id": c,
            "timestamp": "2026-11-03T10:00:00Z",
            "metadata": {"tokens": 20, "model": "gpt-4o-mini", "cached": False, "_cost": {"amount": "2.25", "currency": "usd"}},
        },
        {
            "name": "api_call",
            "customer_id": c,
            "timestamp": "2026-11-04T10:00:00Z",
            "metadata": {"tokens": 30, "model": "claude"},
        },
        {"name": "upload", "customer_id": c, "timestamp": "2026-11-05T10:00:00Z", "metadata": {"tokens": 5, "model": "gpt-4"}},
        {
            "name": "api_call",
            "customer_id": c,
            "timestamp": "2026-11-06T10:00:00Z",
            "metadata": {"tokens": "40", "model": "x_y%"},
        },
    ]
    assert ingest(api_client, events).json() == {"inserted": 5, "duplicates": 0}
    return customer


def _quantity(organization, customer, filter_, aggregation=None):
    meter = MeterFactory(
        organization=organization,
        filter=validate_filter(filter_),
        aggregation=validate_aggregation(aggregation or {"func": "count"}),
    )
    return meter_quantity(meter=meter, customer=customer, start=MONTH[0], end=MONTH[1])


def _one(prop, operator, value):
    return {"conjunction": "and", "clauses": [{"property": prop, "operator": operator, "value": value}]}


@pytest.mark.parametrize(
    "prop, operator, value, expected",
    [
        ("tokens", "eq", 20, 1),
        ("tokens", "ne", 20, 4),  # 10, 30, 5, "40"
        ("tokens", "gt", 10, 3),  # 20, 30, "40"
        ("tokens", "gte", 10, 4),
        ("tokens", "lt", 20, 2),  # 10, 5
        ("tokens", "lte", 20, 3),
        ("model", "eq", "gpt-4", 2),
        ("model", "ne", "gpt-4", 3),
        ("model", "gt", "d", 4),  # byte order: only "claude" sorts before "d"
        ("model", "like", "gpt", 3),
        ("model", "not_like", "gpt", 2),
        ("model", "like", "_", 1),  # literal underscore, not a wildcard
        ("model", "like", "y%", 1),  # literal percent
        ("name", "eq", "upload", 1),
        ("name", "ne", "upload", 4),
        ("name", "like", "call", 4),
        ("source", "eq", "user", 5),
        ("cached", "eq", True, 1),
        ("cached", "ne", True, 1),  # events without the key do not match ne
        ("timestamp", "gte", "2026-11-04T10:00:00Z", 3),
        ("timestamp", "lt", int(dt.datetime(2026, 11, 4, 10, tzinfo=dt.UTC).timestamp()), 2),
        ("_cost.amount", "gt", 2, 1),  # "2.25" as a decimal string
        ("metadata.model", "eq", "claude", 1),
        ("missing", "eq", "x", 0),
    ],
)
def test_each_operator_counts_the_hand_computed_events(organization, dataset, prop, operator, value, expected):
    assert _quantity(organization, dataset, _one(prop, operator, value)) == expected


def test_nested_filters_combine_and_with_or(organization, dataset):
    filter_ = {
        "conjunction": "and",
        "clauses": [
            {"property": "name", "operator": "eq", "value": "api_call"},
            {
                "conjunction": "or",
                "clauses": [
                    {"property": "model", "operator": "eq", "value": "claude"},
                    {"property": "tokens", "operator": "gte", "value": 20},
                ],
            },
        ],
    }
    assert _quantity(organization, dataset, filter_) == 3  # events 2, 3 and 5


def test_empty_filter_matches_every_event(organization, dataset):
    assert _quantity(organization, dataset, {"conjunction": "and", "clauses": []}) == 5


API_CALLS = _one("name", "eq", "api_call")


@pytest.mark.parametrize(
    "aggregation, expected",
    [
        ({"func": "count"}, Decimal(4)),
        ({"func": "sum", "property": "tokens"}, Decimal(100)),
        ({"func": "max", "property": "tokens"}, Decimal(40)),
        ({"func": "min", "property": "tokens"}, Decimal(10)),
        ({"func": "avg", "property": "tokens"}, Decimal(25)),
        ({"func": "unique", "property": "model"}, Decimal(4)),
        ({"func": "unique", "property": "name"}, Decimal(1)),
        ({"func": "sum", "property": "_cost.amount"}, Decimal("3.75")),
        ({"func": "sum", "property": "model"}, Decimal(0)),  # no numbers: nothing to add
    ],
)
def test_each_aggregation_matches_the_hand_computed_value(organization, dataset, aggregation, expected):
    assert _quantity(organization, dataset, API_CALLS, aggregation) == expected


def test_quantities_fill_empty_buckets_with_zero_and_total(api_client, organization, dataset):
    meter = MeterFactory(organization=organization, filter=API_CALLS, aggregation={"func": "sum", "property": "tokens"})
    response = api_client.get(
        f"/v1/meters/{meter.id}/quantities",
        {"start_timestamp": "2026-11-01T00:00:00Z", "end_timestamp": "2026-11-08T00:00:00Z", "interval": "day"},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert [q["quantity"] for q in body["quantities"]] == [0, 10, 20, 30, 0, 40, 0]
    assert body["quantities"][0]["timestamp"] == "2026-11-01T00:00:00Z"
    assert body["quantities"][-1]["timestamp"] == "2026-11-07T00:00:00Z"
    assert body["total"] == 100


def test_total_of_avg_is_over_the_range_not_a_sum_of_buckets(api_client, organization, dataset):
    meter = MeterFactory(organization=organization, filter=API_CALLS, aggregation={"func": "avg", "property": "tokens"})
    body = api_client.get(
        f"/v1/meters/{meter.id}/quantities",
        {"start_timestamp": "2026-11-01T00:00:00Z", "end_timestamp": "2026-12-01T00:00:00Z", "interval": "week"},
    ).json()
    assert body["total"] == 25
    # Weeks start on Monday: Oct 26 (events of Nov 2-6 are in the week of Nov 2).
    assert body["quantities"][0] == {"timestamp": "2026-10-26T00:00:00Z", "quantity": 0}
    assert body["quantities"][1] == {"timestamp": "2026-11-02T00:00:00Z", "quantity": 25}


def test_day_buckets_follow_local_midnight_across_the_dst_change(api_client, organization, customer, frozen_now):
    # Europe/Paris moves from +01:00 to +02:00 on 2026-03-29 at 02:00 local.
    c = str(customer.id)
    ingest(
        api_client,
        [
            {"name": "api_call", "customer_id": c, "timestamp": "2026-03-28T22:30:00Z"},  # 23:30 on the 28th, local
            {"name": "api_call", "customer_id": c, "timestamp": "2026-03-28T23:30:00Z"},  # 00:30 on the 29th, local
            {"name": "api_call", "customer_id": c, "timestamp": "2026-03-29T22:30:00Z"},  # 00:30 on the 30th (+02:00)
            {"name": "api_call", "customer_id": c, "timestamp": "2026-03-29T21:30:00Z"},  # 23:30 on the 29th (+02:00)
        ],
    )
    meter = MeterFactory(organization=organization, filter=API_CALLS)
    body = api_client.get(
        f"/v1/meters/{meter.id}/quantities",
        {
            "start_timestamp": "2026-03-28T00:00:00+01:00",
            "end_timestamp": "2026-03-31T00:00:00+02:00",
            "interval": "day",
            "timezone": "Europe/Paris",
        },
    ).json()
    assert body["quantities"] == [
        {"timestamp": "2026-03-27T23:00:00Z", "quantity": 1},
        {"timestamp": "2026-03-28T23:00:00Z", "quantity": 2},  # a 23-hour day
        {"timestamp": "2026-03-29T22:00:00Z", "quantity": 1},
    ]
    assert body["total"] == 4


def test_month_buckets_in_a_time_zone_start_at_local_month_starts(api_client, organization, dataset):
    meter = MeterFactory(organization=organization, filter=API_CALLS)
    body = api_client.get(
        f"/v1/meters/{meter.id}/quantities",
        {
            "start_timestamp": "2026-10-15T00:00:00Z",
            "end_timestamp": "2026-11-30T00:00:00Z",
            "interval": "month",
            "timezone": "Europe/Paris",
        },
    ).json()
    assert body["quantities"] == [
        {"timestamp": "2026-09-30T22:00:00Z", "quantity": 0},  # October starts at +02:00
        {"timestamp": "2026-10-31T23:00:00Z", "quantity": 4},  # November at +01:00
    ]


def test_customer_filter_includes_events_not_yet_linked(api_client, organization, frozen_now):
    ingest(api_client, [{"name": "api_call", "external_customer_id": "late", "timestamp": "2026-11-02T00:00:00Z"}])
    late = CustomerFactory(organization=organization, external_id="late")  # created, not linked
    other = CustomerFactory(organization=organization, external_id="other")
    ingest(api_client, [{"name": "api_call", "customer_id": str(other.id), "timestamp": "2026-11-02T00:00:00Z"}])
    meter = MeterFactory(organization=organization, filter=API_CALLS)
    assert meter_quantity(meter=meter, customer=late, start=MONTH[0], end=MONTH[1]) == 1
    params = {"start_timestamp": "2026-11-01T00:00:00Z", "end_timestamp": "2026-12-01T00:00:00Z", "interval": "month"}
    by_id = api_client.get(f"/v1/meters/{meter.id}/quantities", dict(params, customer_id=str(late.id))).json()
    by_external = api_client.get(f"/v1/meters/{meter.id}/quantities", dict(params, external_customer_id="late")).json()
    both = api_client.get(f"/v1/meters/{meter.id}/quantities", dict(params, external_customer_id=["late", "other"])).json()
    assert (by_id["total"], by_external["total"], both["total"]) == (1, 1, 2)


def test_quantities_never_count_another_organizations_events(api_client, other_api_client, organization, other_customer, dataset):
    ingest(other_api_client, [{"name": "api_call", "customer_id": str(other_customer.id), "timestamp": "2026-11-02T00:00:00Z"}])
    meter = MeterFactory(organization=organization, filter=API_CALLS)
    body = api_client.get(
        f"/v1/meters/{meter.id}/quantities",
        {"start_timestamp": "2026-11-01T00:00:00Z", "end_timestamp": "2026-12-01T00:00:00Z", "interval": "month"},
    ).json()
    assert body["total"] == 4
    # And a customer id of another organization in the filter matches nothing.
    filtered = api_client.get(
        f"/v1/meters/{meter.id}/quantities",
        {
            "start_timestamp": "2026-11-01T00:00:00Z",
            "end_timestamp": "2026-12-01T00:00:00Z",
            "interval": "month",
            "customer_id": str(other_customer.id),
        },
    ).json()
    assert filtered["total"] == 0


@pytest.mark.parametrize(
    "params, loc",
    [
        ({"end_timestamp": "2026-12-01T00:00:00Z", "interval": "day"}, ["query", "start_timestamp"]),
        (
            {"start_timestamp": "2026-11-01T00:00:00Z", "end_timestamp": "2026-12-01T00:00:00Z", "interval": "decade"},
            ["query", "interval"],
        ),
        (
            {
                "start_timestamp": "2026-11-01T00:00:00Z",
                "end_timestamp": "2026-12-01T00:00:00Z",
                "interval": "day",
                "timezone": "Mars/Olympus",
            },
            ["query", "timezone"],
        ),
        (
            {"start_timestamp": "2026-11-01T00:00:00Z", "end_timestamp": "2026-10-01T00:00:00Z", "interval": "day"},
            ["query", "end_timestamp"],
        ),
        (
            {"start_timestamp": "2000-01-01T00:00:00Z", "end_timestamp": "2026-10-01T00:00:00Z", "interval": "hour"},
            ["query", "interval"],
        ),
    ],
)
def test_bad_quantities_query_is_a_422(api_client, organization, params, loc):
    meter = MeterFactory(organization=organization)
    response = api_client.get(f"/v1/meters/{meter.id}/quantities", params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc
