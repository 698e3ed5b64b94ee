"""The staff admin in Chromium: log in, the landing figures, an order page with money shown as money."""

import pytest
from django.contrib.auth import get_user_model

from billing.checkouts import services as checkout_services
from billing.models import Order
from tests.factories import OrganizationFactory
from tests.factories.subscriptions import monthly_product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def order():
    organization = OrganizationFactory(slug="acme", name="Acme Analytics")
    product = monthly_product(organization, name="Pro plan", amount=5000)
    checkout = checkout_services.checkout_create(organization=organization, products=[product.id])
    checkout_services.checkout_confirm(
        checkout=checkout, customer_email="jane@example.com", customer_name="Jane Doe", confirmation_token_id="pm_card_visa"
    )
    return Order.objects.get(customer__email="jane@example.com")


def test_admin_login_dashboard_and_an_order_page_show_money(live_server, page, screenshot, order):
    get_user_model().objects.create_superuser("staff", "staff@example.com", "a-long-test-password")
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Revenue today (paid)").wait_for()
    assert "$50.00" in page.locator(".polar-dashboard").inner_text()
    screenshot("admin-index")

    page.goto(f"{live_server.url}/admin/billing/order/")
    assert page.get_by_role("link", name=f"Order #{order.invoice_number}").is_visible()
    screenshot("admin-orders")
    page.get_by_role("link", name=f"Order #{order.invoice_number}").click()
    page.get_by_text("Order items").first.wait_for()
    assert page.locator(".field-total_money .readonly").inner_text() == "$50.00"
    assert page.locator(".field-subtotal_money .readonly").inner_text() == "$50.00"
    assert page.locator("td.field-amount_money").first.inner_text() == "$50.00"  # the order's line
    screenshot("admin-order")
