"""The hosted checkout in Chromium: pay with 4242…, a declined card, the landing page, the invoice."""

import pytest

from billing.checkouts import services as checkout_services
from billing.models import Order
from billing.orders.pages import invoice_signed_path
from tests.factories import OrganizationFactory
from tests.factories.catalog import make_product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def checkout():
    organization = OrganizationFactory(slug="acme", name="Acme Analytics", email="billing@acme.example")
    product = make_product(
        organization=organization,
        name="Pro plan",
        description="Dashboards, alerts and 10 seats. Cancel any time.",
        prices=[{"amount_type": "fixed", "price_amount": 5000, "price_currency": "usd"}],
        recurring_interval="month",
    )
    return checkout_services.checkout_create(organization=organization, products=[product.id])


def _fill(page, *, card):
    page.get_by_label("Email").fill("jane@example.com")
    page.get_by_label("Name on the card").fill("Jane Doe")
    page.get_by_label("Card number").press_sequentially(card)


def test_pay_with_the_test_card_and_see_success(live_server, page, screenshot, checkout):
    page.goto(f"{live_server.url}/checkout/{checkout.client_secret}")
    assert page.get_by_role("heading", name="Pro plan").is_visible()
    assert page.get_by_test_id("total").inner_text() == "$50.00"
    page.get_by_text("Sandbox test cards").click()
    _fill(page, card="4242424242424242")
    assert page.get_by_label("Card number").input_value() == "4242 4242 4242 4242"  # grouped as typed
    screenshot("checkout")
    page.get_by_role("button", name="Pay $50.00").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    assert "Payment successful" in page.content()
    screenshot("checkout-success")
    order = Order.objects.get(customer__email="jane@example.com")
    assert (order.status, order.total_amount, order.currency) == ("paid", 5000, "usd")


def test_a_declined_card_shows_the_error_and_keeps_the_form(live_server, page, screenshot, checkout):
    page.goto(f"{live_server.url}/checkout/{checkout.client_secret}")
    _fill(page, card="4000000000000002")
    page.get_by_role("button", name="Pay $50.00").click()
    error = page.locator("#error_card_number")
    error.wait_for()
    assert "declined" in error.inner_text()
    assert page.get_by_label("Email").input_value() == "jane@example.com"
    assert page.get_by_role("button", name="Pay $50.00").is_enabled()
    screenshot("checkout-declined")
    assert not Order.objects.filter(status="paid").exists()


def test_a_number_that_is_not_a_card_says_invalid_card_number(live_server, page, checkout):
    page.goto(f"{live_server.url}/checkout/{checkout.client_secret}")
    _fill(page, card="1234123412341234")
    page.get_by_role("button", name="Pay $50.00").click()
    page.locator("#error_card_number").wait_for()
    assert "Invalid card number" in page.locator("#error_card_number").inner_text()


def test_the_invoice_page_after_paying(live_server, page, screenshot, checkout):
    checkout_services.checkout_confirm(
        checkout=checkout, customer_email="jane@example.com", customer_name="Jane Doe", confirmation_token_id="pm_card_visa"
    )
    order = Order.objects.get(customer__email="jane@example.com")
    page.goto(f"{live_server.url}{invoice_signed_path(order)}")
    assert page.get_by_test_id("invoice-total").inner_text() == "$50.00"
    assert page.get_by_role("heading", name="Billed to").is_visible()
    screenshot("invoice")


def test_the_landing_page(live_server, page, screenshot, db):
    page.goto(f"{live_server.url}/")
    assert page.get_by_role("heading", name="Polar-compatible billing").is_visible()
    assert page.get_by_role("link", name="API reference").get_attribute("href") == "/docs"
    screenshot("landing")
