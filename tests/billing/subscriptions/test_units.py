"""unit_based prices (issue 22): the quantity chosen at checkout (validated against minimum_units, priced
by the tier engine, one order line per tier reached, unit_label on the page and invoice lines), and a
quantity change on the subscription prorated like seats.

The period is 2026-01-31 12:00 → 2026-02-28 12:00 UTC (28 days); the change happens 7 days in, so the
remaining fraction is exactly 21/28 = 0.75.
"""

import datetime as dt

import pytest

from billing.catalog.services import product_create
from billing.models import Checkout, Order, Subscription, SubscriptionProration
from billing.renewals.verify import order_mismatches
from billing.subscriptions import changes, lifecycle
from polar import clock
from polar.errors import PolarRequestValidationError
from tests.billing.subscription_fixtures import T0

pytestmark = pytest.mark.django_db

CHANGE_AT = T0 + dt.timedelta(days=7)
# 1–10 licences at $10, 11–50 at $8, 51+ at $6
LICENCE = {
    "type": "graduated",
    "tiers": [{"bound": 10, "unit_amount": "1000"}, {"bound": 50, "unit_amount": "800"}, {"bound": None, "unit_amount": "600"}],
}


def licences(organization, tiers=LICENCE, minimum=3, name="Licences"):
    return product_create(
        organization=organization,
        name=name,
        recurring_interval="month",
        prices=[
            {
                "amount_type": "unit_based",
                "price_currency": "usd",
                "tiers": tiers,
                "minimum_units": minimum,
                "unit_label": {"en": {"=1": "licence", "other": "licences"}},
            }
        ],
    )


def test_checkout_with_units_buys_them_one_line_per_tier(api_client, anonymous_client, organization):
    product = licences(organization)
    # below minimum_units → 422 on units, nothing written
    response = api_client.post("/v1/checkouts/", {"products": [str(product.id)], "units": 2}, format="json")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "units"]
    assert not Checkout.objects.exists()

    response = api_client.post("/v1/checkouts/", {"products": [str(product.id)], "units": 12}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    # by hand: 10 × 1000 + 2 × 800 = 11,600
    assert (body["units"], body["min_units"], body["max_units"], body["amount"]) == (12, 3, None, 11_600)
    page = anonymous_client.get(f"/checkout/{body['client_secret']}")
    assert page.status_code == 200 and "12 licences" in page.content.decode()

    # the buyer changes the quantity, then pays
    response = anonymous_client.patch(f"/v1/checkouts/client/{body['client_secret']}", {"units": 60}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["amount"] == 10 * 1000 + 40 * 800 + 10 * 600  # 48,000
    response = anonymous_client.post(
        f"/v1/checkouts/client/{body['client_secret']}/confirm",
        {"customer_email": "it@example.com", "confirmation_token_id": "pm_card_visa"},
        format="json",
    )
    assert response.status_code == 200, response.content
    subscription = Subscription.objects.get(product=product)
    assert (subscription.units, subscription.amount, subscription.status) == (60, 48_000, "active")
    order = Order.objects.get(subscription=subscription)
    assert [(i.label, i.amount) for i in order.items.order_by("position")] == [
        ("Licences (60 licences) · units 1–10: 10 × 1000¢", 10_000),
        ("Licences (60 licences) · units 11–50: 40 × 800¢", 32_000),
        ("Licences (60 licences) · units 51+: 10 × 600¢", 6_000),
    ]
    assert (order.total_amount, order.status) == (48_000, "paid")
    assert order_mismatches(order) == []
    assert api_client.get(f"/v1/subscriptions/{subscription.id}").json()["units"] == 60
    assert api_client.get(f"/v1/orders/{order.id}").json()["units"] == 60  # Polar's Order.units


def test_volume_units_change_is_prorated_like_seats(organization, customer, card):
    volume = {**LICENCE, "type": "volume"}
    product = licences(organization, tiers=volume, minimum=1, name="Seats")
    with clock.freeze(T0):
        subscription = lifecycle.subscription_create(organization=organization, customer=customer, product=product, units=8)
    assert (subscription.units, subscription.amount) == (8, 8_000)  # 8 × 1000

    with clock.freeze(CHANGE_AT):
        changed = changes.subscription_change_units(subscription=subscription, units=20, proration_behavior="invoice")
    order = Order.objects.get(billing_reason="subscription_update")
    # credit 0.75 × 8,000 = −6,000; charge 0.75 × (20 × 800 = 16,000) = 12,000
    assert [(i.label, i.amount, i.proration) for i in order.items.order_by("position")] == [
        ("Unused time on Seats (8 licences) · 8 units at the 1–10 rate: 8 × 1000¢", -6_000, True),
        ("Remaining time on Seats (20 licences) · 20 units at the 11–50 rate: 20 × 800¢", 12_000, True),
    ]
    assert (order.total_amount, order.status) == (6_000, "paid")
    assert (changed.units, changed.amount) == (20, 16_000)
    assert order_mismatches(order) == []
    from billing.orders.payloads import order_units

    assert order_units(order) == 20  # the new quantity, from the charge line of the change
    assert order_units(Order.objects.get(billing_reason="subscription_create")) == 8

    # prorate: the lines wait for the next renewal; refused quantities write nothing
    with pytest.raises(PolarRequestValidationError) as excinfo:
        changes.subscription_change_units(subscription=changed, units=0)
    assert excinfo.value.errors[0]["loc"] == ["body", "units"]
    with clock.freeze(CHANGE_AT + dt.timedelta(days=7)):  # 14 of 28 days left: half
        changed = changes.subscription_change_units(subscription=changed, units=5, proration_behavior="prorate")
    rows = SubscriptionProration.objects.filter(subscription=subscription).order_by("created_at", "id")
    assert [r.line_input["units"] for r in rows] == ["20", "5"]
    assert changed.units == 5 and changed.amount == 5_000


def test_units_on_a_product_without_a_unit_price_are_refused(organization, customer, card):
    from tests.factories.subscriptions import monthly_product

    plain = monthly_product(organization, name="Plain", amount=1000)
    with pytest.raises(PolarRequestValidationError) as excinfo:
        lifecycle.subscription_create(organization=organization, customer=customer, product=plain, units=3)
    assert excinfo.value.errors[0]["loc"] == ["body", "units"]
    subscription = lifecycle.subscription_create(organization=organization, customer=customer, product=plain)
    with pytest.raises(PolarRequestValidationError):
        changes.subscription_change_units(subscription=subscription, units=3)


def test_checkout_link_with_units_opens_checkouts_with_that_quantity(api_client, anonymous_client, organization):
    product = licences(organization)
    body = {"products": [str(product.id)], "payment_processor": "stripe"}
    response = api_client.post("/v1/checkout-links/", {**body, "units": 2}, format="json")  # below minimum_units
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "units"]
    link = api_client.post("/v1/checkout-links/", {**body, "units": 12}, format="json").json()
    assert link["units"] == 12
    response = anonymous_client.get(f"/v1/checkout-links/{link['client_secret']}/redirect")
    assert response.status_code in (302, 303, 307), response.content
    checkout = Checkout.objects.get()
    assert (checkout.units, checkout.amount) == (12, 11_600)
