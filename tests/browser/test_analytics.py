"""The staff metrics dashboard in Chromium: charts drawn from the metrics, and the same figures as a table."""

import pytest
from django.contrib.auth import get_user_model

from polar import clock
from tests.billing.analytics.world import NOW, World
from tests.factories import OrganizationFactory
from tests.factories.usage import MeterFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_dashboard_draws_the_charts_and_the_table(live_server, page, screenshot):
    organization = OrganizationFactory(slug="acme", name="Acme Analytics")
    MeterFactory(
        organization=organization,
        name="LLM calls",
        filter={"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "llm"}]},
    )
    with clock.freeze(NOW):
        World(organization).build()
    get_user_model().objects.create_superuser("staff", "staff@example.com", "a-long-test-password")
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/staff/metrics/")
    page.get_by_role("link", name="Acme Analytics").click()
    page.get_by_label("From", exact=True).fill("2026-01-01")
    page.get_by_label("To", exact=True).fill("2026-05-31")
    page.get_by_role("button", name="Show").click()
    page.locator("#charts[data-ready='true']").wait_for()
    assert page.locator("canvas").count() == 6
    table = page.get_by_test_id("metrics-table")
    assert table.locator("tbody tr").count() == 5
    assert "$45.00" in table.locator("tbody tr").nth(1).inner_text()  # February's revenue
    # Something was drawn on the MRR canvas (not a blank bitmap).
    drawn = page.evaluate("document.getElementById('chart-mrr').toDataURL().length")
    blank = page.evaluate("(() => { const c = document.createElement('canvas'); const s = document.getElementById('chart-mrr');"
                          " c.width = s.width; c.height = s.height; return c.toDataURL().length; })()")  # fmt: skip
    assert drawn > blank * 2
    screenshot("staff-metrics")
