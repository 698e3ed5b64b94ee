"""The staff metrics dashboard: staff only, guardian's view permission on the organization, the table's figures."""

import pytest
from django.contrib.auth import get_user_model
from guardian.shortcuts import assign_perm

from polar import clock
from tests.billing.analytics.world import NOW, World

pytestmark = pytest.mark.django_db

RANGE = "?start_date=2026-01-01&end_date=2026-05-31&interval=month"


@pytest.fixture
def world(organization):
    with clock.freeze(NOW):
        return World(organization).build()


def _login(client, *, superuser=False, staff=True, name="staff"):
    user = get_user_model().objects.create_user(name, f"{name}@example.com", "a-long-test-password", is_staff=staff,
                                                is_superuser=superuser)  # fmt: skip
    client.force_login(user)
    return user


def test_a_superuser_sees_the_figures_as_a_table(client, world, organization):
    _login(client, superuser=True)
    with clock.freeze(NOW):
        response = client.get(f"/staff/metrics/{organization.id}/{RANGE}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Monthly Recurring Revenue" in html and "$40.00" in html  # May's MRR
    assert "$45.00" in html  # February's revenue
    assert "33.3 %" in html  # April's net revenue retention is 133.3 %, churn shows too
    assert "chart-4.4.7.umd.min.js" in html and 'id="chart-mrr"' in html


def test_the_data_behind_the_charts(client, world, organization):
    _login(client, superuser=True)
    with clock.freeze(NOW):
        data = client.get(f"/staff/metrics/{organization.id}/data{RANGE}").json()
    assert [p["monthly_recurring_revenue"] for p in data["metrics"]["periods"]] == [1000, 2000, 3000, 4000, 4000]
    assert data["customers"][0]["external_customer_id"] == "alice"
    assert data["meters"] == []


def test_staff_need_the_view_permission_on_the_organization(client, world, organization, other_organization):
    user = _login(client)
    assert client.get(f"/staff/metrics/{organization.id}/{RANGE}").status_code == 404
    assert client.get(f"/staff/metrics/{organization.id}/data{RANGE}").status_code == 404
    assert "Acme" not in client.get("/staff/metrics/").content.decode()
    assign_perm("organizations.view_organization", user, organization)
    assert client.get(f"/staff/metrics/{organization.id}/{RANGE}").status_code == 200
    assert client.get(f"/staff/metrics/{other_organization.id}/{RANGE}").status_code == 404
    index = client.get("/staff/metrics/").content.decode()
    assert "Acme" in index and "Globex" not in index


def test_not_for_customers_or_anonymous_visitors(client, organization):
    assert client.get(f"/staff/metrics/{organization.id}/").status_code == 302  # to the admin login
    _login(client, staff=False, name="someone")
    assert client.get(f"/staff/metrics/{organization.id}/").status_code == 302
