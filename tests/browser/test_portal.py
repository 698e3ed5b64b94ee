"""The customer portal in Chromium, on a laptop and on a phone: sign in with a customer session link, add a
card, cancel (and keep) a subscription, download an invoice; an expired link. Screenshots: portal-*.png."""

import os
from pathlib import Path

import pytest

from billing.checkouts import services as checkout_services
from billing.models import Order, PaymentMethod, Subscription
from billing.portal.sessions import customer_session_create
from tests.browser.conftest import TIMEOUT_MS
from tests.factories import CustomerFactory, OrganizationFactory
from tests.factories.subscriptions import monthly_product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture
def customer():
    organization = OrganizationFactory(slug="acme", name="Acme Analytics", email="billing@acme.example")
    customer = CustomerFactory(organization=organization, email="jane@example.com", name="Jane Doe")
    for name, amount in (("Pro plan", 5000), ("Alerts add-on", 900)):
        product = monthly_product(organization, name=name, amount=amount, description=f"{name} for Jane")
        checkout = checkout_services.checkout_create(organization=organization, products=[product.id])
        checkout_services.checkout_confirm(
            checkout=checkout, customer_email=customer.email, customer_name="Jane Doe", confirmation_token_id="pm_card_visa"
        )
    return customer


def portal_link(live_server, customer) -> str:
    _session, token = customer_session_create(customer=customer)
    return f"{live_server.url}/portal/?customer_session_token={token}"


@pytest.fixture
def phone(chromium, tmp_path):
    """A phone-sized page and its screenshot function (full page, into the same folder as ``screenshot``)."""
    context = chromium.new_context(**PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    directory = Path(os.environ.get("POLAR_SCREENSHOTS_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)

    def take(name):
        path = directory / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000
        return path

    yield page, take
    context.close()


def _no_horizontal_scroll(page):
    # Readable on a phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_walk_the_portal_add_a_card_cancel_and_download_an_invoice(live_server, page, screenshot, customer, tmp_path):
    page.goto(portal_link(live_server, customer))
    page.get_by_role("heading", name="Hello, Jane Doe").wait_for()
    assert "customer_session_token" not in page.url
    assert page.get_by_test_id("subscription").count() == 2
    assert page.get_by_test_id("invoice").count() == 2
    screenshot("portal-home")

    # Add a card: it becomes the default.
    page.get_by_role("link", name="Add a card").first.click()
    page.get_by_role("heading", name="Add a card").wait_for()
    page.get_by_text("Sandbox test cards").click()
    page.get_by_label("Card number").press_sequentially("5555555555554444")
    assert page.get_by_label("Card number").input_value() == "5555 5555 5555 4444"
    screenshot("portal-card")
    page.get_by_role("button", name="Save card").click()
    page.get_by_text("Mastercard •••• 4444 is now your default card.").wait_for()
    customer.refresh_from_db()
    assert PaymentMethod.objects.get(pk=customer.default_payment_method_id).last4 == "4444"

    # A declined card keeps the form with the error.
    page.get_by_role("link", name="Add a card").first.click()
    page.get_by_label("Card number").press_sequentially("4000000000000002")
    page.get_by_role("button", name="Save card").click()
    page.locator("#error_card_number").wait_for()
    assert "declined" in page.locator("#error_card_number").inner_text()
    page.get_by_role("link", name="← Your account").click()

    # Cancel the Pro plan, see it scheduled, keep it again.
    page.get_by_test_id("subscription").filter(has_text="Pro plan").get_by_role("link", name="Manage").click()
    page.get_by_text("Cancel this subscription").click()
    page.get_by_label("Why are you leaving?").select_option("too_expensive")
    page.get_by_role("button", name="Cancel subscription").click()
    page.get_by_role("button", name="Keep my subscription").wait_for()
    assert "stays active until" in page.content()
    screenshot("portal-subscription-canceled")
    subscription = Subscription.objects.get(customer=customer, product__name="Pro plan")
    assert subscription.cancel_at_period_end and subscription.customer_cancellation_reason == "too_expensive"
    page.get_by_role("button", name="Keep my subscription").click()
    page.get_by_text("continues").wait_for()
    subscription.refresh_from_db()
    assert not subscription.cancel_at_period_end

    # Open and download an invoice.
    page.get_by_role("link", name="← Your account").click()
    order = Order.objects.filter(customer=customer).order_by("-created_at").first()
    row = page.get_by_test_id("invoice").filter(has_text=order.invoice_number)
    with page.expect_download() as download_info:
        row.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == f"invoice-{order.invoice_number}.html"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert f"Invoice {order.invoice_number}" in saved.read_text() and "<style>" in saved.read_text()
    row.get_by_role("link", name="View").click()
    page.get_by_role("heading", name=f"Invoice {order.invoice_number}").wait_for()
    assert page.get_by_test_id("invoice-paid").inner_text() == "Amount paid: $9.00 · Amount due: $0.00"
    screenshot("portal-invoice")


def test_the_portal_on_a_phone(live_server, phone, customer):
    page, take = phone
    page.goto(portal_link(live_server, customer))
    page.get_by_role("heading", name="Hello, Jane Doe").wait_for()
    _no_horizontal_scroll(page)
    take("portal-phone-home")

    page.get_by_role("link", name="Add a card").first.click()
    page.get_by_label("Card number").press_sequentially("4242424242424242")
    _no_horizontal_scroll(page)
    take("portal-phone-card")
    page.get_by_role("button", name="Save card").click()
    page.get_by_text("is now your default card").wait_for()

    page.get_by_test_id("subscription").filter(has_text="Alerts add-on").get_by_role("link", name="Manage").click()
    page.get_by_text("Cancel this subscription").click()
    page.get_by_role("button", name="Cancel subscription").click()
    page.get_by_role("button", name="Keep my subscription").wait_for()
    _no_horizontal_scroll(page)
    take("portal-phone-subscription")

    page.get_by_role("link", name="← Your account").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download").first.click()
    assert download_info.value.suggested_filename.startswith("invoice-")
    assert Subscription.objects.get(customer=customer, product__name="Alerts add-on").cancel_at_period_end


def test_an_expired_link_says_so_and_offers_a_new_one(live_server, page, screenshot, db):
    page.goto(f"{live_server.url}/portal/?customer_session_token=polar_cst_expired")
    page.get_by_role("heading", name="This link has expired").wait_for()
    screenshot("portal-expired")
    organization = OrganizationFactory(slug="acme", name="Acme Analytics")
    page.goto(f"{live_server.url}/portal/{organization.slug}/")
    page.get_by_label("Email").fill("jane@example.com")
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_text("a sign-in link is on its way").wait_for()
