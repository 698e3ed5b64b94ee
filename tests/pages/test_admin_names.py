"""Every row the admin links to is named readably (the models' ``__str__``), never "X object (uuid)"."""

import pytest

from billing.checkouts import services as checkout_services
from billing.models import (
    BenefitGrant,
    Checkout,
    Discount,
    DiscountAmount,
    Order,
    Payment,
    PaymentMethod,
    Subscription,
    SubscriptionPrice,
)
from tests.factories.subscriptions import monthly_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_subscription(organization):
    product = monthly_product(organization, name="Pro plan", amount=5000)
    checkout = checkout_services.checkout_create(organization=organization, products=[product.id])
    checkout_services.checkout_confirm(checkout=checkout, customer_email="jane@example.com", confirmation_token_id="pm_card_visa")
    return Subscription.objects.get(customer__email="jane@example.com")


def test_models_read_as_staff_would_say_them(paid_subscription):
    order = Order.objects.get(subscription=paid_subscription)
    assert str(paid_subscription) == "jane@example.com — Pro plan (active)"
    assert str(SubscriptionPrice.objects.get(subscription=paid_subscription)) == "Pro plan — monthly, $50.00"
    assert str(order) == f"Order #{order.invoice_number}"
    assert str(order.items.first()).endswith(", $50.00")
    assert str(Checkout.objects.get(pk=order.checkout_id)) == "Checkout for Pro plan (succeeded)"
    assert str(Payment.objects.get(order=order)) == "$50.00 usd, succeeded"
    assert str(PaymentMethod.objects.get(customer=paid_subscription.customer)).endswith("•••• 4242")


def test_discounts_and_grants_read_readably(organization, paid_subscription):
    percent = Discount.objects.create(
        organization=organization, name="Launch", code="LAUNCH", type="percentage", basis_points=1000, duration="once"
    )
    assert str(percent) == "Launch (code LAUNCH) — 10 % off, once"
    fixed = Discount.objects.create(
        organization=organization, name="Five", type="fixed", duration="repeating", duration_in_months=3
    )
    amount = DiscountAmount.objects.create(discount=fixed, currency="usd", amount=500)
    assert str(fixed) == "Five — fixed amount off, 3 months" and str(amount) == "$5.00 off"
    for grant in BenefitGrant.objects.all():
        assert "jane@example.com" in str(grant)


@pytest.mark.parametrize("which", ["order", "subscription"])
def test_change_pages_name_every_related_row(admin_client, paid_subscription, which):
    order = Order.objects.get(subscription=paid_subscription)
    pk = order.pk if which == "order" else paid_subscription.pk
    response = admin_client.get(f"/admin/billing/{which}/{pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "object (" not in html
    assert "jane@example.com" in html


@pytest.mark.parametrize(
    "url",
    [
        "/admin/billing/discount/",
        "/admin/billing/discountredemption/",
        "/admin/billing/benefitgrant/",
        "/admin/billing/customermeter/",
        "/admin/billing/paymentmethod/",
        "/admin/billing/checkout/",
        "/admin/billing/licensekey/",
    ],
)
def test_lists_open_and_name_rows_readably(admin_client, paid_subscription, url):
    response = admin_client.get(url)
    assert response.status_code == 200
    assert "object (" not in response.content.decode()


def test_discount_list_shows_amounts_off_as_money(admin_client, organization):
    fixed = Discount.objects.create(organization=organization, name="Five", type="fixed", duration="once")
    DiscountAmount.objects.create(discount=fixed, currency="usd", amount=500)
    Discount.objects.create(organization=organization, name="Tenth", type="percentage", basis_points=1000, duration="once")
    html = admin_client.get("/admin/billing/discount/").content.decode()
    assert "$5.00" in html and "10 %" in html
    page = admin_client.get(f"/admin/billing/discount/{fixed.pk}/change/").content.decode()
    assert "$5.00" in page and ">500<" not in page
