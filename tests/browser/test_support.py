"""The support pages in Chromium: a support agent assigned to Acme signs in, finds a customer by e-mail,
refunds part of an order with a reason and sees the refund on the customer's timeline; Globex's customer
stays out of reach. Screenshots: the search and the customer page."""

import datetime as dt

import pytest
from django.core.management import call_command

from billing.catalog.services import product_benefits_set
from billing.models import Order, OrderBillingReason, Refund
from billing.subscriptions.lifecycle import subscription_create
from billing.usage.services import events_ingest
from polar import clock
from tests.factories import CustomerFactory, OrganizationFactory
from tests.factories.catalog import fixed_price, make_benefit, make_product
from tests.factories.payments import attach_card
from tests.factories.staff import make_staff
from tests.factories.usage import MeterFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-staff-password"
T0 = dt.datetime(2026, 1, 31, 12, 0, tzinfo=dt.UTC)
RENEWAL = dt.datetime(2026, 2, 28, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def story():
    """Ada subscribed to Acme's Pro on Jan 31 (paid 20.00); her card then fails, so the Feb 28 renewal is
    past due with a declined attempt. Globex has a customer of its own."""
    acme = OrganizationFactory(slug="acme", name="Acme Analytics")
    globex = OrganizationFactory(slug="globex", name="Globex")
    product = make_product(organization=acme, name="Pro plan", prices=[fixed_price(2000)], recurring_interval="month")
    product_benefits_set(product=product, benefits=[make_benefit(organization=acme, description="Priority support").id])
    ada = CustomerFactory(organization=acme, email="ada@example.com", name="Ada Lovelace", external_id="ada-1")
    with clock.freeze(T0):
        attach_card(ada, "pm_card_visa")
        subscription = subscription_create(organization=acme, customer=ada, product=product)
        subscription.payment_method = attach_card(ada, "pm_card_chargeCustomerFail")
        subscription.save(update_fields=["payment_method"])
    call_command("run_billing", now=RENEWAL.isoformat())
    MeterFactory(organization=acme, name="API calls")
    events_ingest(organization=acme, events=[{"name": "api_call", "customer_id": str(ada.id)}] * 842)
    CustomerFactory(organization=globex, email="bob@globex.example")
    make_staff("support", acme, email="sam@staff.example", password=PASSWORD)
    first = Order.objects.get(subscription=subscription, billing_reason=OrderBillingReason.SUBSCRIPTION_CREATE)
    return {"customer": ada, "order": first}


def test_a_support_agent_finds_a_customer_and_refunds_part_of_an_order(live_server, page, screenshot, story):
    page.goto(f"{live_server.url}/support/")
    # Not signed in: the admin's login, then back to the support pages.
    page.get_by_label("Username").fill("sam@staff.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Find a customer").wait_for()

    # Another merchant's customer is not found.
    page.get_by_label("Search customers").fill("bob@globex.example")
    page.get_by_role("button", name="Search").click()
    page.get_by_text("No customer of your merchants matches.").wait_for()

    page.get_by_label("Search customers").fill("ADA@example.com")
    page.get_by_role("button", name="Search").click()
    page.get_by_test_id("search-result").first.wait_for()
    assert page.get_by_test_id("search-result").count() == 1
    assert "Acme Analytics" in page.get_by_test_id("search-results").inner_text()
    screenshot("support-search")

    page.get_by_role("link", name="ada@example.com").click()
    page.get_by_role("heading", name="Ada Lovelace").wait_for()
    order = story["order"]
    row = page.locator(f"#order-{order.id}")
    assert "card_declined" in page.get_by_test_id("orders").inner_text()
    assert "842" in page.get_by_test_id("meters").inner_text()
    refund_form = row.get_by_test_id("action-refund")
    refund_form.locator("summary").click()
    refund_form.get_by_label("Amount").fill("7.50")
    refund_form.get_by_label("Reason").fill("Charged during the outage, ticket 4711")
    refund_form.locator("form").get_by_role("button", name="Refund").click()

    page.get_by_text(f"Refund of order {order.invoice_number}: $7.50 succeeded").wait_for()
    timeline = page.get_by_test_id("timeline").inner_text()
    assert "Support: refund" in timeline
    assert "Charged during the outage, ticket 4711" in timeline
    assert "refund.created" in timeline
    assert "$7.50" in page.get_by_test_id("refunds").inner_text()
    refund = Refund.objects.get(order=order)
    assert (refund.amount, refund.status) == (750, "succeeded")
    screenshot("support-customer")
