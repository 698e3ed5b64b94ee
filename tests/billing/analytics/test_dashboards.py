"""Metrics dashboards (list/create/get/update/delete) and the CSV export."""

import csv
import io

import pytest

from polar import clock
from tests.billing.analytics.world import NOW, World

pytestmark = pytest.mark.django_db


def test_dashboard_create_get_update_list_delete(api_client, organization):
    created = api_client.post(
        "/v1/metrics/dashboards", {"name": "Money", "metrics": ["revenue", "monthly_recurring_revenue"]}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["name"], body["metrics"], body["organization_id"], body["modified_at"]) == (
        "Money",
        ["revenue", "monthly_recurring_revenue"],
        str(organization.id),
        None,
    )
    url = f"/v1/metrics/dashboards/{body['id']}"
    assert api_client.get(url).json() == body
    updated = api_client.patch(url, {"metrics": ["costs"]}, format="json").json()
    assert (updated["name"], updated["metrics"]) == ("Money", ["costs"]) and updated["modified_at"] is not None
    assert [d["id"] for d in api_client.get("/v1/metrics/dashboards").json()] == [body["id"]]
    assert api_client.delete(url).status_code == 204
    assert api_client.get(url).status_code == 404
    assert api_client.get("/v1/metrics/dashboards").json() == []


def test_dashboard_refuses_unknown_metrics_and_foreign_organizations(api_client, other_organization):
    bad = api_client.post("/v1/metrics/dashboards", {"name": "x", "metrics": ["revenue", "vibes"]}, format="json")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "metrics"]
    other = api_client.post("/v1/metrics/dashboards", {"name": "x", "organization_id": str(other_organization.id)}, format="json")
    assert other.status_code == 422 and other.json()["detail"][0]["loc"] == ["body", "organization_id"]


def test_another_organizations_dashboard_is_404(api_client, other_api_client):
    body = api_client.post("/v1/metrics/dashboards", {"name": "Mine"}, format="json").json()
    url = f"/v1/metrics/dashboards/{body['id']}"
    assert other_api_client.get(url).status_code == 404
    assert other_api_client.patch(url, {"name": "theirs"}, format="json").status_code == 404
    assert other_api_client.delete(url).status_code == 404
    assert other_api_client.get("/v1/metrics/dashboards").json() == []
    assert api_client.get(url).json()["name"] == "Mine"


def test_export_is_the_periods_as_csv(api_client, organization):
    with clock.freeze(NOW):
        World(organization).build()
        response = api_client.get(
            "/v1/metrics/export",
            {
                "start_date": "2026-01-01",
                "end_date": "2026-05-31",
                "interval": "month",
                "metrics": ["orders", "revenue", "costs"],
            },
            HTTP_ACCEPT="text/csv",
        )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["timestamp", "orders", "revenue", "costs"],
        ["2026-01-01T00:00:00+00:00", "1", "1000", "200.5"],
        ["2026-02-01T00:00:00+00:00", "3", "4500", "0"],
        ["2026-03-01T00:00:00+00:00", "4", "4333", "100"],
        ["2026-04-01T00:00:00+00:00", "2", "4000", "50.25"],
        ["2026-05-01T00:00:00+00:00", "2", "4000", "0"],
    ]
    bad = api_client.get("/v1/metrics/export", {"start_date": "2026-01-01", "interval": "month"}, HTTP_ACCEPT="text/csv")
    assert bad.status_code == 422
