"""``/support/customers/<id>/``: the customer's whole story on one page, for staff allowed on its organization."""

from billing.usage.services import events_ingest
from tests.factories.staff import make_staff
from tests.factories.usage import MeterFactory

from .conftest import client_for


def page(client, customer, **params):
    response = client.get(f"/support/customers/{customer.id}/", params)
    assert response.status_code == 200, response.content[:500]
    return response


def test_shows_subscriptions_orders_payment_attempts_and_dunning(
    support_client, customer, subscription, first_order, past_due_order
):
    response = page(support_client, customer)
    context = response.context
    [sub] = context["subscriptions"]
    assert sub["object"].id == subscription.id
    assert sub["object"].status == "past_due"
    assert sub["price"] == "$20.00 / month"
    assert sub["period"] == "28 Feb 2026 – 31 Mar 2026"
    assert sub["dunning_open"] is True
    assert sub["dunning"].startswith("retrying: 1 attempt made, next 2 Mar 2026")

    orders = {row["object"].id: row for row in context["orders"]}
    assert [row["object"].id for row in context["orders"]] == [past_due_order.id, first_order.id]
    assert [p["object"].decline_reason for p in orders[past_due_order.id]["payments"]] == ["card_declined"]
    assert [p["object"].status for p in orders[first_order.id]["payments"]] == ["succeeded"]
    assert orders[first_order.id]["total"] == "$20.00"
    html = response.content.decode()
    assert "card_declined" in html and "Priority support" in html
    assert context["benefits"][0]["description"] == "Priority support"


def test_shows_usage_per_meter_this_period(support_client, organization, customer):
    meter = MeterFactory(organization=organization, name="API calls")
    events_ingest(organization=organization, events=[{"name": "api_call", "customer_id": str(customer.id)}] * 3)
    rows = page(support_client, customer).context["meters"]
    assert [(row["name"], row["consumed"], row["credited"]) for row in rows] == [(meter.name, "3", "0")]


def test_another_organizations_customer_is_404(support_client, other_customer):
    assert support_client.get(f"/support/customers/{other_customer.id}/").status_code == 404


def test_staff_without_the_organizations_permission_get_404(customer):
    stranger = make_staff("support", None, email="nobody@staff.example")
    assert client_for(stranger).get(f"/support/customers/{customer.id}/").status_code == 404


def test_a_staff_member_of_another_organization_gets_404(other_organization, customer):
    globex_agent = make_staff("support", other_organization, email="gina@staff.example")
    assert client_for(globex_agent).get(f"/support/customers/{customer.id}/").status_code == 404


def test_the_timeline_merges_audit_entries_and_domain_events_newest_first(support_client, customer, subscription, first_order):
    timeline = page(support_client, customer).context["timeline"]
    sources = {item["source"] for item in timeline}
    assert sources == {"audit", "event"}
    instants = [item["at"] for item in timeline]
    assert instants == sorted(instants, reverse=True)
    titles = [item["title"] for item in timeline]
    assert "subscription.created" in titles and "order.paid" in titles
    assert any(title.startswith("Order created") for title in titles)


def test_orders_are_paginated(support_client, organization, customer):
    from tests.factories.subscriptions import pending_order

    for _ in range(30):
        pending_order(customer, amount=100)
    first = page(support_client, customer).context
    second = page(support_client, customer, page=2).context
    assert len(first["orders"]) == 25 and len(second["orders"]) == 5
    assert first["orders_page"].paginator.count == 30


def test_the_timeline_pages_back_with_before(support_client, customer, subscription, first_order):
    newest = page(support_client, customer).context["timeline"]
    cut = newest[2]["at"]
    older = page(support_client, customer, before=cut.isoformat()).context["timeline"]
    assert older and all(item["at"] < cut for item in older)
    # A malformed or naive instant is ignored: the newest entries again.
    assert page(support_client, customer, before="yesterday").context["timeline"] == newest


def test_the_staff_dashboard_links_the_support_pages(support_client, customer):
    response = support_client.get("/admin/")
    assert response.status_code == 200
    assert 'href="/support/"' in response.content.decode()
