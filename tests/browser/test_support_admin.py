"""The admin as a risk analyst sees it, in Chromium: assigned to Acme only, they see Acme and not Globex,
freeze Acme's payouts with a reason (the admin's reason page), and the freeze is on record with who and why.
Screenshot: admin-risk-analyst (the organizations list after the freeze)."""

import pytest
from auditlog.models import LogEntry

from payouts.models import PayoutAccount
from tests.factories import OrganizationFactory
from tests.factories.staff import make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-staff-password"


def test_a_risk_analyst_sees_only_their_merchant_and_freezes_its_payouts(live_server, page, screenshot):
    acme = OrganizationFactory(slug="acme", name="Acme Analytics")
    OrganizationFactory(slug="globex", name="Globex")
    analyst = make_staff("risk", acme, email="rita@staff.example", password=PASSWORD)

    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("rita@staff.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Support: find a customer").wait_for()

    page.goto(f"{live_server.url}/admin/organizations/organization/")
    results = page.locator("#result_list")
    results.wait_for()
    assert "acme" in results.inner_text() and "globex" not in results.inner_text()

    results.locator("input[name=_selected_action]").first.check()
    page.locator("select[name=action]").select_option(label="Freeze payouts")
    page.get_by_role("button", name="Go").click()
    page.get_by_label("Reason").fill("Chargeback spike under review, case R-12")
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("payouts frozen").wait_for()
    screenshot("admin-risk-analyst")

    account = PayoutAccount.objects.get(organization=acme)
    assert account.payouts_frozen and account.frozen_reason == "Chargeback spike under review, case R-12"
    entry = LogEntry.objects.get_for_object(account).latest("timestamp")
    assert entry.actor_id == analyst.id
    assert entry.additional_data["reason"] == "Chargeback spike under review, case R-12"
