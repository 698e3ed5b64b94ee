"""The staff admin shows money as money, names rows readably, badges statuses and opens on live figures."""

import pytest

from billing.checkouts import services as checkout_services
from billing.models import Order, Payment, ProductPrice, Subscription
from tests.factories.subscriptions import monthly_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_subscription(organization):
    product = monthly_product(organization, name="Pro plan", amount=5000)
    checkout = checkout_services.checkout_create(organization=organization, products=[product.id])
    checkout_services.checkout_confirm(checkout=checkout, customer_email="jane@example.com", confirmation_token_id="pm_card_visa")
    return Subscription.objects.get(customer__email="jane@example.com")


def test_order_list_and_page_show_money_and_a_readable_name(admin_client, paid_subscription):
    order = Order.objects.get(subscription=paid_subscription)
    listing = admin_client.get("/admin/billing/order/").content.decode()
    assert f"Order #{order.invoice_number}" in listing and "$50.00" in listing
    assert '<span class="badge ok">paid</span>' in listing
    page = admin_client.get(f"/admin/billing/order/{order.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "$50.00" in html and ">5000<" not in html


def test_subscription_page_names_its_price_readably(admin_client, paid_subscription):
    html = admin_client.get(f"/admin/billing/subscription/{paid_subscription.pk}/change/").content.decode()
    assert "Pro plan — monthly, $50.00 (v1)" in html
    assert "$50.00" in html  # the inline row header (the model's __str__) is hidden by admin.css


@pytest.mark.parametrize(
    ("url", "model"),
    [
        ("/admin/billing/payment/", Payment),
        ("/admin/billing/productprice/", ProductPrice),
        ("/admin/billing/subscription/", Subscription),
        ("/admin/billing/checkout/", None),
    ],
)
def test_lists_show_amounts_as_money(admin_client, paid_subscription, url, model):
    response = admin_client.get(url)
    assert response.status_code == 200 and "$50.00" in response.content.decode()
    if model is not None:
        row = model.objects.first()
        assert admin_client.get(f"{url}{row.pk}/change/").status_code == 200


@pytest.mark.parametrize("term", ["jane@", "ACME-000001"])
def test_orders_are_searchable_by_email_and_number(admin_client, paid_subscription, term):
    html = admin_client.get("/admin/billing/order/", {"q": term}).content.decode()
    assert "Order #ACME-000001" in html


def test_admin_index_shows_todays_figures(admin_client, paid_subscription):
    html = admin_client.get("/admin/").content.decode()
    for label in (
        "Orders today",
        "Revenue today (paid)",
        "Past-due subscriptions",
        "Failed webhook deliveries",
        "Renewal backlog",
    ):
        assert label in html
    assert "$50.00" in html and "polar/admin.css" in html
