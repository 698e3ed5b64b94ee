"""A unit-based subscription in the customer portal (issue 22): its quantity in the price's ``unit_label``
on the pages, and a quantity change through the API and the pages, with the organization's proration
behaviour (the same ``subscription_change_units`` as the merchant's API). Another customer's is a 404."""

import datetime as dt

import pytest
from django.test import Client

from billing.catalog.services import product_create
from billing.models import Order, Subscription
from billing.subscriptions import lifecycle
from polar import clock
from tests.billing.portal.test_pages import sign_in
from tests.factories.payments import attach_card

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 31, 12, 0, tzinfo=dt.UTC)
CHANGE_AT = T0 + dt.timedelta(days=7)  # 21 of the 28 days left: 0.75
LICENCE = {
    "type": "volume",
    "tiers": [{"bound": 10, "unit_amount": "1000"}, {"bound": 50, "unit_amount": "800"}, {"bound": None, "unit_amount": "600"}],
}


@pytest.fixture
def licences(organization, customer):
    organization.proration_behavior = "invoice"
    organization.save()
    product = product_create(
        organization=organization,
        name="Licences",
        recurring_interval="month",
        prices=[
            {
                "amount_type": "unit_based",
                "price_currency": "usd",
                "tiers": LICENCE,
                "minimum_units": 3,
                "unit_label": {"en": {"=1": "licence", "other": "licences"}, "fr": {"=1": "licence", "other": "licences FR"}},
            }
        ],
    )
    attach_card(customer, "pm_card_visa")
    with clock.freeze(T0):
        return lifecycle.subscription_create(organization=organization, customer=customer, product=product, units=8)


def test_the_api_changes_units_with_the_organizations_proration(portal, licences):
    with clock.freeze(CHANGE_AT):
        response = portal.patch(f"/v1/customer-portal/subscriptions/{licences.id}", {"units": 20}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["units"], response.json()["amount"]) == (20, 16_000)  # 20 × 800
    order = Order.objects.get(billing_reason="subscription_update")
    # invoice: credit 0.75 × 8,000 = −6,000, charge 0.75 × 16,000 = 12,000 → 6,000 charged now
    assert (order.total_amount, order.status) == (6_000, "paid")
    assert portal.get(f"/v1/customer-portal/orders/{order.id}").json()["units"] == 20


@pytest.mark.parametrize("units", [2, 0])
def test_the_api_refuses_a_quantity_outside_the_bounds(portal, licences, units):
    response = portal.patch(f"/v1/customer-portal/subscriptions/{licences.id}", {"units": units}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "units"]
    licences.refresh_from_db()
    assert licences.units == 8 and not Order.objects.filter(billing_reason="subscription_update").exists()


def test_units_on_a_subscription_without_a_unit_price_is_422(portal, organization, customer):
    from tests.billing.portal.conftest import subscribe
    from tests.factories.subscriptions import monthly_product

    plain = subscribe(customer, monthly_product(organization, name="Plain", amount=1000))
    response = portal.patch(f"/v1/customer-portal/subscriptions/{plain.id}", {"units": 5}, format="json")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "units"]


def test_another_customers_subscription_units_are_404(other_portal, licences):
    response = other_portal.patch(f"/v1/customer-portal/subscriptions/{licences.id}", {"units": 20}, format="json")
    assert response.status_code == 404
    licences.refresh_from_db()
    assert licences.units == 8


def test_the_pages_show_the_quantity_in_the_prices_words_and_change_it(client, customer, licences):
    sign_in(client, customer)
    assert "8 licences" in client.get("/portal/").content.decode()
    page = client.get(f"/portal/subscriptions/{licences.id}").content.decode()
    assert "8 licences" in page and "Number of licences" in page and 'min="3"' in page
    assert "charged now" in page  # the organization's proration behaviour, said before the change

    with clock.freeze(CHANGE_AT):
        response = client.post(f"/portal/subscriptions/{licences.id}/units", {"units": "20"})
    assert response.status_code == 302
    licences.refresh_from_db()
    assert (licences.units, licences.amount) == (20, 16_000)
    assert Order.objects.get(billing_reason="subscription_update").total_amount == 6_000
    assert "Licences is now 20 licences." in client.get(response["Location"]).content.decode()


def test_the_pages_use_the_customers_locale(client, customer, licences):
    customer.locale = "fr"
    customer.save()
    sign_in(client, customer)
    assert "8 licences FR" in client.get(f"/portal/subscriptions/{licences.id}").content.decode()


def test_the_pages_refuse_a_quantity_below_the_minimum_and_change_nothing(client, customer, licences):
    sign_in(client, customer)
    response = client.post(f"/portal/subscriptions/{licences.id}/units", {"units": "2"})
    assert response.status_code == 422
    assert "greater than or equal to 3" in response.content.decode()
    licences.refresh_from_db()
    assert licences.units == 8


def test_another_customers_units_page_is_404(client, other_customer, licences):
    attach_card(other_customer, "pm_card_visa")
    sign_in(client, other_customer)
    assert client.post(f"/portal/subscriptions/{licences.id}/units", {"units": "20"}).status_code == 404
    assert Subscription.objects.get(pk=licences.pk).units == 8


def test_the_units_form_needs_the_csrf_token(customer, licences):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, customer)
    assert client.post(f"/portal/subscriptions/{licences.id}/units", {"units": "20"}).status_code == 403
    assert Subscription.objects.get(pk=licences.pk).units == 8
