"""GET /v1/metrics/: every metric against the hand-computed world of ``world.py`` (monthly, UTC)."""

import pytest

from polar import clock
from tests.billing.analytics.world import NOW, World

pytestmark = pytest.mark.django_db

JAN_TO_MAY = {"start_date": "2026-01-01", "end_date": "2026-05-31", "interval": "month"}

# Per month, January to May, worked out by hand from world.py's story (docs/metrics.md, the definitions).
EXPECTED = {
    "orders": [1, 3, 4, 2, 2],
    "revenue": [1000, 4500, 4333, 4000, 4000],
    "net_revenue": [1000, 3500, 4333, 4000, 4000],
    "cumulative_revenue": [1000, 5500, 9833, 13833, 17833],
    "net_cumulative_revenue": [1000, 4500, 8833, 12833, 16833],
    "average_order_value": [1000, 1500, 1083, 2000, 2000],
    "net_average_order_value": [1000, 1167, 1083, 2000, 2000],
    "one_time_products": [0, 1, 0, 0, 0],
    "one_time_products_revenue": [0, 2500, 0, 0, 0],
    "one_time_products_net_revenue": [0, 1500, 0, 0, 0],
    "new_subscriptions_revenue": [1000, 1000, 1000, 0, 0],
    "new_subscriptions_net_revenue": [1000, 1000, 1000, 0, 0],
    "renewed_subscriptions": [0, 1, 2, 2, 2],
    "renewed_subscriptions_revenue": [0, 1000, 2000, 4000, 4000],
    "renewed_subscriptions_net_revenue": [0, 1000, 2000, 4000, 4000],
    # Stocks at each month's last instant (May: now). Bob ends at Apr 1 00:00, the instant March ends.
    "active_subscriptions": [1, 2, 3, 2, 3],
    "committed_subscriptions": [1, 2, 2, 2, 3],
    # Billed MRR: Alice's plan change shows from her first Pro period (Apr 10), Bob's is committed no more
    # once he cancels (Mar 15).
    "monthly_recurring_revenue": [1000, 2000, 3000, 4000, 4000],
    "committed_monthly_recurring_revenue": [1000, 2000, 2000, 4000, 4000],
    "trial_monthly_recurring_revenue": [0, 0, 0, 0, 1000],
    "trial_committed_monthly_recurring_revenue": [0, 0, 0, 0, 1000],
    "annual_recurring_revenue": [12000, 24000, 36000, 48000, 48000],
    "committed_annual_recurring_revenue": [12000, 24000, 24000, 48000, 48000],
    "average_revenue_per_user": [1000, 1000, 1000, 2000, 2000],
    "new_subscriptions": [1, 1, 1, 0, 1],
    "churned_subscriptions": [0, 0, 0, 1, 0],
    "canceled_subscriptions": [0, 0, 1, 0, 0],
    "canceled_subscriptions_too_expensive": [0, 0, 1, 0, 0],
    "canceled_subscriptions_other": [0, 0, 0, 0, 0],
    "churn_rate": [0, 0, 0, 1 / 3, 0],
    "checkouts": [0, 3, 1, 0, 0],
    "succeeded_checkouts": [0, 2, 1, 0, 0],
    "checkouts_conversion": [0, 2 / 3, 1.0, 0, 0],
    "costs": [200.5, 0, 100, 50.25, 0],
    "cumulative_costs": [200.5, 200.5, 300.5, 350.75, 350.75],
    "active_user_by_event": [1, 0, 1, 1, 1],
    "cost_per_user": [200.5, 0, 100, 50.25, 0],
    "cashflow": [799.5, 4500, 4233, 3949.75, 4000],
    "gross_margin": [799.5, 5299.5, 9532.5, 13482.25, 17482.25],
    # Retention: Bob's 10.00 churns in April out of 30.00 at its start (Alice, Bob, Dave); by May 1 Alice
    # pays 30.00 and Dave 10.00 of it: 40 / 30.
    "churned_monthly_recurring_revenue": [0, 0, 0, 1000, 0],
    "revenue_churn_rate": [0, 0, 0, 1 / 3, 0],
    "net_revenue_retention": [0, 1.0, 1.0, 4 / 3, 1.0],
    "logo_churn_rate": [0, 0, 0, 1 / 3, 0],
    "dunning_orders": [0, 0, 0, 1, 0],
    "dunning_recovered_orders": [0, 0, 0, 1, 0],
    "dunning_recovery_rate": [0, 0, 0, 1.0, 0],
    "gross_margin_percentage": [799.5 / 1000, 5299.5 / 5500, 9532.5 / 9833, 13482.25 / 13833, 17482.25 / 17833],
}
EXPECTED_TOTALS = {
    "orders": 12,
    "revenue": 17833,
    "net_revenue": 16833,
    "cumulative_revenue": 17833,
    "average_order_value": 1486,  # 17833 / 12
    "active_subscriptions": 3,
    "monthly_recurring_revenue": 4000,
    "new_subscriptions": 4,
    "churned_subscriptions": 1,
    "churn_rate": 0.25,  # 1 churned / (0 active on Jan 1 + 4 new)
    "checkouts": 4,
    "checkouts_conversion": 0.75,
    "costs": 350.75,
    "active_user_by_event": 3,  # Alice, Dave, Erin
    "cost_per_user": 350.75 / 3,
    "gross_margin": 17482.25,
    "cashflow": 17482.25,
    "churned_monthly_recurring_revenue": 1000,
    "logo_churn_rate": 1 / 3,  # 1 lost / (0 paying on Jan 1 + 3 gained)
    "net_revenue_retention": 0,  # nobody paid on Jan 1
    "dunning_recovery_rate": 1.0,
}


@pytest.fixture
def world(organization):
    with clock.freeze(NOW):
        return World(organization).build()


def get_metrics(api_client, **params):
    with clock.freeze(NOW):
        response = api_client.get("/v1/metrics/", {**JAN_TO_MAY, **params})
    assert response.status_code == 200, response.content
    return response.json()


def test_every_metric_matches_the_hand_computed_world(api_client, world):
    body = get_metrics(api_client)
    periods = body["periods"]
    assert [p["timestamp"] for p in periods] == [f"2026-0{m}-01T00:00:00+00:00" for m in range(1, 6)]
    for slug, expected in EXPECTED.items():
        assert [p[slug] for p in periods] == pytest.approx(expected), slug
    for slug, expected in EXPECTED_TOTALS.items():
        assert body["totals"][slug] == pytest.approx(expected), slug


def test_every_metric_is_defined(api_client, world):
    body = get_metrics(api_client)
    assert set(body["metrics"]) == set(body["totals"]) == set(body["periods"][0]) - {"timestamp"}
    assert set(EXPECTED) <= set(body["metrics"])
    assert body["metrics"]["monthly_recurring_revenue"] == {
        "slug": "monthly_recurring_revenue",
        "display_name": "Monthly Recurring Revenue",
        "type": "currency",
    }
    assert body["metrics"]["costs"]["type"] == "currency_sub_cent"
    assert body["metrics"]["churn_rate"]["type"] == "percentage"


def test_daily_buckets_across_daylight_saving_have_23_and_25_hours(api_client, world):
    # New York: clocks go forward on 2026-03-08 and back on 2026-11-01.
    body = get_metrics(api_client, start_date="2026-03-07", end_date="2026-03-09", interval="day", timezone="America/New_York")
    assert [p["timestamp"] for p in body["periods"]] == [
        "2026-03-07T00:00:00-05:00",
        "2026-03-08T00:00:00-05:00",
        "2026-03-09T00:00:00-04:00",
    ]
    with clock.freeze(NOW):
        fall = api_client.get(
            "/v1/metrics/",
            {"start_date": "2026-10-31", "end_date": "2026-11-02", "interval": "day", "timezone": "America/New_York"},
        ).json()
    assert [p["timestamp"] for p in fall["periods"]] == [
        "2026-10-31T00:00:00-04:00",
        "2026-11-01T00:00:00-04:00",
        "2026-11-02T00:00:00-05:00",
    ]


def test_a_bucket_is_the_local_day(api_client, world):
    # Alice's first order is paid at 2026-01-10 00:00 UTC: in New York that is still January 9th.
    body = get_metrics(api_client, start_date="2026-01-09", end_date="2026-01-10", interval="day", timezone="America/New_York")
    assert [p["orders"] for p in body["periods"]] == [1, 0]
    body = get_metrics(api_client, start_date="2026-01-09", end_date="2026-01-10", interval="day", timezone="Asia/Tokyo")
    assert [p["orders"] for p in body["periods"]] == [0, 1]


def test_hourly_buckets_count_absolute_hours_across_a_dst_change(api_client, organization):
    with clock.freeze(NOW):
        body = api_client.get(
            "/v1/metrics/",
            {"start_date": "2026-03-08", "end_date": "2026-03-08", "interval": "hour", "timezone": "America/New_York"},
        ).json()
    stamps = [p["timestamp"] for p in body["periods"]]
    assert len(stamps) == 23  # the day clocks go forward has 23 hours
    assert stamps[:4] == [
        "2026-03-08T00:00:00-05:00",
        "2026-03-08T01:00:00-05:00",
        "2026-03-08T03:00:00-04:00",
        "2026-03-08T04:00:00-04:00",
    ]


def test_empty_buckets_are_zero(api_client, organization):
    with clock.freeze(NOW):
        body = api_client.get("/v1/metrics/", {**JAN_TO_MAY, "interval": "week"}).json()
    assert len(body["periods"]) == 22  # Mon 2025-12-29 … Mon 2026-05-25
    assert body["periods"][0]["timestamp"] == "2025-12-29T00:00:00+00:00"
    for period in body["periods"]:
        assert all(value == 0 for key, value in period.items() if key != "timestamp")
    assert all(value == 0 for value in body["totals"].values())


def test_filters_by_product_customer_and_billing_type(api_client, world):
    one_time = get_metrics(api_client, billing_type="one_time")
    assert [p["revenue"] for p in one_time["periods"]] == [0, 2500, 0, 0, 0]
    assert [p["active_subscriptions"] for p in one_time["periods"]] == [0, 0, 0, 0, 0]
    assert [p["checkouts"] for p in one_time["periods"]] == [0, 1, 0, 0, 0]
    recurring = get_metrics(api_client, billing_type="recurring")
    assert [p["revenue"] for p in recurring["periods"]] == [1000, 2000, 4333, 4000, 4000]
    pro = get_metrics(api_client, product_id=str(world.pro.id))  # Alice's subscription is on Pro now
    assert [p["active_subscriptions"] for p in pro["periods"]] == [1, 1, 1, 1, 1]
    dave = get_metrics(api_client, customer_id=str(world.dave.id))
    assert [p["revenue"] for p in dave["periods"]] == [0, 0, 1000, 1000, 1000]
    assert [p["monthly_recurring_revenue"] for p in dave["periods"]] == [0, 0, 1000, 1000, 1000]
    assert [p["costs"] for p in dave["periods"]] == [0, 0, 0, 50.25, 0]
    both = get_metrics(api_client, customer_id=[str(world.dave.id), str(world.bob.id)])
    assert [p["churned_subscriptions"] for p in both["periods"]] == [0, 0, 0, 1, 0]


def test_metrics_parameter_returns_only_those(api_client, world):
    body = get_metrics(api_client, metrics=["revenue", "monthly_recurring_revenue"])
    assert set(body["metrics"]) == {"revenue", "monthly_recurring_revenue"}
    assert set(body["periods"][2]) == {"timestamp", "revenue", "monthly_recurring_revenue"}
    assert body["periods"][2]["revenue"] == 4333


def test_another_organization_sees_none_of_it(api_client, other_api_client, world, organization, other_organization):
    with clock.freeze(NOW):
        other = other_api_client.get("/v1/metrics/", JAN_TO_MAY).json()
        asked_for_other = api_client.get("/v1/metrics/", {**JAN_TO_MAY, "organization_id": str(other_organization.id)}).json()
        asked_for_own = api_client.get("/v1/metrics/", {**JAN_TO_MAY, "organization_id": str(organization.id)}).json()
    assert other["totals"]["revenue"] == 0 and other["totals"]["active_subscriptions"] == 0 and other["totals"]["costs"] == 0
    assert asked_for_other["totals"]["revenue"] == 0
    assert asked_for_own["totals"]["revenue"] == 17833


@pytest.mark.parametrize(
    "params, loc",
    [
        ({"end_date": "2026-01-01", "interval": "month"}, ["query", "start_date"]),
        ({"start_date": "2026-02-01", "end_date": "2026-01-01", "interval": "month"}, ["query", "end_date"]),
        ({"start_date": "2026-01-01", "end_date": "2026-01-01", "interval": "minute"}, ["query", "interval"]),
        ({"start_date": "2025-01-01", "end_date": "2026-03-01", "interval": "day"}, ["query", "end_date"]),
        (
            {"start_date": "2026-01-01", "end_date": "2026-01-02", "interval": "day", "timezone": "Mars/Olympus"},
            ["query", "timezone"],
        ),
        ({"start_date": "2026-01-01", "end_date": "2026-01-02", "interval": "day", "metrics": "nope"}, ["query", "metrics", 0]),
        (
            {"start_date": "2026-01-01", "end_date": "2026-01-02", "interval": "day", "billing_type": "x"},
            ["query", "billing_type", 0],
        ),
    ],
)
def test_bad_input_is_422(api_client, organization, params, loc):
    response = api_client.get("/v1/metrics/", params)
    assert response.status_code == 422, response.content
    assert [error["loc"] for error in response.json()["detail"]] == [loc]


def test_limits(api_client, organization):
    body = api_client.get("/v1/metrics/limits").json()
    assert body["min_date"] == organization.created_at.date().isoformat()
    assert body["intervals"]["day"] == {"min_days": 0, "max_days": 366}
    assert set(body["intervals"]) == {"hour", "day", "week", "month", "year"}


def test_needs_the_metrics_scope(organization, anonymous_client):
    from polar.organizations.services import access_token_create
    from tests.conftest import _client

    _row, raw = access_token_create(organization=organization, comment="no metrics", scopes=["orders:read"])
    assert _client(raw).get("/v1/metrics/limits").status_code == 403
    assert anonymous_client.get("/v1/metrics/limits").status_code == 401


def test_net_revenue_retention_over_a_range_follows_the_customers_paying_at_its_start(api_client, world):
    # On March 1 Alice and Bob pay 20.00; on May 15 (now) Alice pays 30.00 and Bob is gone: 30 / 20.
    body = get_metrics(api_client, start_date="2026-03-01", end_date="2026-05-31")
    assert body["totals"]["net_revenue_retention"] == pytest.approx(1.5)
    assert body["totals"]["revenue_churn_rate"] == pytest.approx(0.5)  # Bob's 10.00 of the 20.00
    assert body["totals"]["logo_churn_rate"] == pytest.approx(1 / 3)  # 1 lost / (2 paying + Dave gained)


def test_customers_ranked_by_margin(api_client, world):
    with clock.freeze(NOW):
        page = api_client.get("/v1/metrics/customers/", {"start_date": "2026-01-01", "end_date": "2026-05-31"}).json()
    assert page["pagination"] == {"total_count": 4, "max_page": 1}
    ranked = [
        (c["external_customer_id"], c["orders"], c["revenue"], c["net_revenue"], c["costs"], c["margin"]) for c in page["items"]
    ]
    assert ranked == [
        ("alice", 6, 10333, 10333, 300.5, 10032.5),  # 10 + 10 + 10 + 13.33 + 30 + 30, less 300.5¢ of costs
        ("dave", 3, 3000, 3000, 50.25, 2949.75),
        ("bob", 2, 2000, 2000, 0, 2000),
        ("carol", 1, 2500, 1500, 0, 1500),  # 10.00 refunded
    ]
    assert page["items"][0]["margin_percentage"] == pytest.approx(10032.5 / 10333)


def test_customers_ranking_sorts_pages_and_filters(api_client, world):
    params = {"start_date": "2026-01-01", "end_date": "2026-05-31"}
    with clock.freeze(NOW):
        by_revenue = api_client.get("/v1/metrics/customers/", {**params, "sorting": "-revenue", "limit": 2, "page": 2}).json()
        dave = api_client.get("/v1/metrics/customers/", {**params, "customer_id": str(world.dave.id)}).json()
        april = api_client.get("/v1/metrics/customers/", {"start_date": "2026-04-01", "end_date": "2026-04-30"}).json()
        bad = api_client.get("/v1/metrics/customers/", {**params, "sorting": "name"})
    assert [c["external_customer_id"] for c in by_revenue["items"]] == ["carol", "bob"]
    assert by_revenue["pagination"] == {"total_count": 4, "max_page": 2}
    assert [c["external_customer_id"] for c in dave["items"]] == ["dave"]
    assert [(c["external_customer_id"], c["revenue"]) for c in april["items"]] == [("alice", 3000), ("dave", 1000)]
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "sorting"]


def test_costs_per_product_and_meter(api_client, world, organization):
    from tests.factories.usage import MeterFactory

    name_is = lambda value: {"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": value}]}  # noqa: E731
    MeterFactory(organization=organization, name="LLM calls", filter=name_is("llm"))
    MeterFactory(organization=organization, name="Logins", filter=name_is("login"))
    with clock.freeze(NOW):
        body = api_client.get("/v1/metrics/costs", {"start_date": "2026-01-01", "end_date": "2026-05-31"}).json()
    products = [(p["name"], p["orders"], p["net_revenue"], p["costs"], p["margin"]) for p in body["products"]]
    # Costs go to the product of the subscription the customer had when the event happened (Alice's is Pro).
    assert products == [
        ("Basic", 8, 8000, 50.25, 7949.75),
        ("Pro", 3, 7333, 300.5, 7032.5),
        ("Book", 1, 1500, 0, 1500),
    ]
    assert [(m["name"], m["events"], m["costs"]) for m in body["meters"]] == [("LLM calls", 4, 350.75), ("Logins", 1, 0)]


def test_unit_economics_are_scoped_to_the_organization(other_api_client, world):
    params = {"start_date": "2026-01-01", "end_date": "2026-05-31"}
    assert other_api_client.get("/v1/metrics/customers/", params).json()["items"] == []
    assert other_api_client.get("/v1/metrics/costs", params).json() == {"products": [], "meters": []}


def test_a_later_range_shows_the_same_stocks_as_the_same_buckets_of_a_longer_one(api_client, world):
    # The stocks' baseline at a range's start comes from the history before it (periods that ended before the
    # range are skipped, as they add nothing): the same buckets must read the same whatever the range's start.
    stocks = ("active_subscriptions", "committed_subscriptions", "monthly_recurring_revenue",
              "committed_monthly_recurring_revenue", "average_revenue_per_user", "churned_monthly_recurring_revenue")  # fmt: skip
    whole = get_metrics(api_client)["periods"]
    for start in ("2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01"):
        later = get_metrics(api_client, start_date=start)["periods"]
        for slug in stocks:
            assert [p[slug] for p in later] == [p[slug] for p in whole[-len(later) :]], (start, slug)
