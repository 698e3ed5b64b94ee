"""``metrics.get`` and ``metrics.limits`` through polar-sdk 0.32 and 1.0.2 (each API version): the hand-computed
world of tests/billing/analytics/world.py, January to April 2026 (figures that do not depend on today)."""

import pytest
from polar_sdk import models as m032

from polar import clock
from tests.billing.analytics.test_metrics import EXPECTED
from tests.billing.analytics.world import NOW, World

from .harness import failed, ok, op

pytestmark = pytest.mark.contract

QUERY = {"start_date": "2026-01-01", "end_date": "2026-04-30", "interval": "month", "timezone": "UTC"}
CHECKED = (
    "orders",
    "revenue",
    "net_revenue",
    "monthly_recurring_revenue",
    "active_subscriptions",
    "churned_subscriptions",
    "checkouts_conversion",
    "costs",
    "gross_margin",
)


@pytest.fixture
def world(contract_organization):
    with clock.freeze(NOW):
        return World(contract_organization).build()


def test_032_metrics_get_and_limits(sdk032, sdk032_other, world):
    import datetime as dt

    response = sdk032.metrics.get(
        start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 4, 30), interval=m032.TimeInterval.MONTH, timezone="UTC"
    )
    assert isinstance(response, m032.MetricsResponse)
    assert [p.timestamp.month for p in response.periods] == [1, 2, 3, 4]
    for slug in CHECKED:
        assert [getattr(p, slug) for p in response.periods] == pytest.approx(EXPECTED[slug][:4]), slug
    assert response.totals.revenue == 13833
    assert response.metrics.monthly_recurring_revenue.type == m032.MetricType.CURRENCY
    filtered = sdk032.metrics.get(
        start_date=dt.date(2026, 1, 1),
        end_date=dt.date(2026, 4, 30),
        interval=m032.TimeInterval.MONTH,
        customer_id=str(world.dave.id),
        billing_type=m032.ProductBillingType.RECURRING,
    )
    assert [p.revenue for p in filtered.periods] == [0, 0, 1000, 1000]
    other = sdk032_other.metrics.get(
        start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 4, 30), interval=m032.TimeInterval.MONTH
    )
    assert other.totals.revenue == 0
    limits = sdk032.metrics.limits()
    assert isinstance(limits, m032.MetricsLimits) and limits.intervals.day.max_days == 366
    with pytest.raises(m032.HTTPValidationError) as error:
        sdk032.metrics.get(start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 4, 30), interval=m032.TimeInterval.HOUR)
    assert error.value.data.detail[0].loc == ["query", "end_date"]


def test_10_metrics_get_and_limits(sdk10, world, contract_other_token):
    got, filtered, other, limits, bad = sdk10.run(
        op("metrics.get", **QUERY),
        op("metrics.get", **QUERY, customer_id=[str(world.dave.id)], billing_type="recurring", metrics=["revenue"]),
        op("metrics.get", **QUERY, access_token=contract_other_token),
        op("metrics.limits"),
        op("metrics.get", **{**QUERY, "interval": "hour"}),
    )
    body = ok(got)
    assert body["__class__"] == "MetricsResponse"
    assert [p["timestamp"][:10] for p in body["periods"]] == ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"]
    for slug in CHECKED:
        assert [p[slug] for p in body["periods"]] == pytest.approx(EXPECTED[slug][:4]), slug
    assert body["totals"]["revenue"] == 13833
    assert body["metrics"]["costs"] == {
        "__class__": "Metric",
        "slug": "costs",
        "display_name": "Costs",
        "type": "currency_sub_cent",
    }
    assert [p["revenue"] for p in ok(filtered)["periods"]] == [0, 0, 1000, 1000]
    assert ok(other)["totals"]["revenue"] == 0
    assert ok(limits)["intervals"]["day"]["max_days"] == 366
    failed(bad, "HTTPValidationError", 422)


def test_032_export_and_dashboards(sdk032, sdk032_other, world):
    import datetime as dt

    exported = sdk032.metrics.export(
        start_date=dt.date(2026, 1, 1),
        end_date=dt.date(2026, 4, 30),
        interval=m032.TimeInterval.MONTH,
        metrics=["orders", "revenue"],
    )
    assert exported.splitlines() == [
        "timestamp,orders,revenue",
        "2026-01-01T00:00:00+00:00,1,1000",
        "2026-02-01T00:00:00+00:00,3,4500",
        "2026-03-01T00:00:00+00:00,4,4333",
        "2026-04-01T00:00:00+00:00,2,4000",
    ]
    created = sdk032.metrics.create_dashboard(request={"name": "Money", "metrics": ["revenue"]})
    assert isinstance(created, m032.MetricDashboardSchema) and created.metrics == ["revenue"]
    assert sdk032.metrics.get_dashboard(id=created.id).name == "Money"
    updated = sdk032.metrics.update_dashboard(id=created.id, metric_dashboard_update={"name": "Cash", "metrics": ["cashflow"]})
    assert (updated.name, updated.metrics) == ("Cash", ["cashflow"])
    assert [d.id for d in sdk032.metrics.list_dashboards()] == [created.id]
    # polar-sdk 0.32 declares no 404 for dashboards: its generic SDKError, with Polar's body.
    with pytest.raises(m032.SDKError) as error:
        sdk032_other.metrics.get_dashboard(id=created.id)
    assert error.value.status_code == 404 and "ResourceNotFound" in error.value.body
    sdk032.metrics.delete_dashboard(id=created.id)
    assert sdk032.metrics.list_dashboards() == []


def test_10_export_and_dashboards(sdk10, world, contract_other_token):
    exported, created, got, updated, listed, other, deleted, gone = sdk10.run(
        op("metrics.export", **QUERY, metrics=["orders"]),
        op("metrics.create_dashboard", name="Money", metrics=["revenue"]),
        op("metrics.get_dashboard", "${1.id}"),
        op("metrics.update_dashboard", "${1.id}", name="Cash"),
        op("metrics.list_dashboards"),
        op("metrics.get_dashboard", "${1.id}", access_token=contract_other_token),
        op("metrics.delete_dashboard", "${1.id}"),
        op("metrics.get_dashboard", "${1.id}"),
    )
    assert ok(exported).splitlines()[:2] == ["timestamp,orders", "2026-01-01T00:00:00+00:00,1"]
    assert ok(created)["__class__"] == "MetricDashboardSchema" and ok(created)["metrics"] == ["revenue"]
    assert ok(got)["name"] == "Money"
    assert (ok(updated)["name"], ok(updated)["metrics"]) == ("Cash", ["revenue"])
    assert [d["id"] for d in ok(listed)] == [ok(created)["id"]]
    # polar-sdk 1.0.2 declares no 404 for dashboards: the untyped client error, with Polar's body.
    assert "ResourceNotFound" in failed(other, "PolarClientError", 404)["body"]
    assert ok(deleted) is None
    failed(gone, "PolarClientError", 404)
