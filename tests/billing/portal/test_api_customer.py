"""customer_portal.customers: me get/update and the payment methods, scoped to the session's customer."""

import datetime as dt

import pytest
from django.core.management import call_command

from billing.models import (
    DunningAttempt,
    DunningAttemptKind,
    Order,
    OrderStatus,
    PaymentMethod,
    Subscription,
    SubscriptionStatus,
)
from tests.billing.portal.conftest import subscribe
from tests.factories.payments import attach_card
from tests.factories.subscriptions import monthly_product

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 31, 12, 0, tzinfo=dt.UTC)


def test_me_is_the_sessions_customer(portal, customer):
    body = portal.get("/v1/customer-portal/customers/me").json()
    assert (body["id"], body["email"], body["name"], body["oauth_accounts"]) == (str(customer.id), "jane@example.com", "Jane", {})
    assert "metadata" not in body and "external_id" not in body


def test_update_billing_details(portal, customer):
    address = {"line1": "1 Main St", "postal_code": "10115", "city": "Berlin", "country": "DE"}
    response = portal.patch(
        "/v1/customer-portal/customers/me", {"billing_name": "Jane GmbH", "billing_address": address}, format="json"
    )
    assert response.status_code == 200, response.json()
    customer.refresh_from_db()
    assert (customer.billing_name, customer.billing_address["country"]) == ("Jane GmbH", "DE")
    assert response.json()["billing_address"]["city"] == "Berlin"


def test_default_payment_method_must_be_the_customers_own(portal, customer, other_customer):
    foreign = attach_card(other_customer, "pm_card_visa")
    response = portal.patch("/v1/customer-portal/customers/me", {"default_payment_method_id": str(foreign.id)}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "default_payment_method_id"]
    own = attach_card(customer, "pm_card_visa", set_default=False)
    second = attach_card(customer, "pm_card_mastercard", set_default=False)
    response = portal.patch("/v1/customer-portal/customers/me", {"default_payment_method_id": str(second.id)}, format="json")
    assert response.json()["default_payment_method_id"] == str(second.id)
    assert own.id != second.id


def test_add_list_and_delete_payment_methods(portal, customer, other_customer):
    response = portal.post(
        "/v1/customer-portal/customers/me/payment-methods",
        {"confirmation_token_id": "pm_card_visa", "set_default": True, "return_url": "https://acme.test"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["payment_method"]["method_metadata"]["last4"] == "4242"
    method_id = body["payment_method"]["id"]
    customer.refresh_from_db()
    assert str(customer.default_payment_method_id) == method_id

    foreign = attach_card(other_customer, "pm_card_visa")
    listed = portal.get("/v1/customer-portal/customers/me/payment-methods").json()
    assert [item["id"] for item in listed["items"]] == [method_id]
    assert portal.delete(f"/v1/customer-portal/customers/me/payment-methods/{foreign.id}").status_code == 404
    assert portal.delete(f"/v1/customer-portal/customers/me/payment-methods/{method_id}").status_code == 204
    assert PaymentMethod.objects.get(pk=method_id).deleted_at is not None
    assert PaymentMethod.objects.get(pk=foreign.id).deleted_at is None


def test_declined_card_is_refused_and_nothing_saved(portal, customer):
    response = portal.post(
        "/v1/customer-portal/customers/me/payment-methods",
        {"confirmation_token_id": "pm_card_visa_chargeDeclined", "set_default": True, "return_url": "https://acme.test"},
        format="json",
    )
    assert response.status_code >= 400
    assert not PaymentMethod.objects.filter(customer=customer).exists()


def test_confirm_saves_the_card(portal, customer):
    response = portal.post(
        "/v1/customer-portal/customers/me/payment-methods/confirm",
        {"setup_intent_id": "pm_card_mastercard", "set_default": False},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert PaymentMethod.objects.filter(customer=customer, deleted_at__isnull=True).count() == 1


def test_the_only_card_of_a_live_subscription_cannot_be_deleted(portal, organization, customer):
    card = attach_card(customer, "pm_card_visa")
    subscribe(customer, monthly_product(organization), card=card)
    response = portal.delete(f"/v1/customer-portal/customers/me/payment-methods/{card.id}")
    assert response.status_code == 400
    assert response.json()["error"] == "PaymentMethodInUseByActiveSubscription"
    # With another card, the other one takes over as default and as the subscription's card.
    other = attach_card(customer, "pm_card_mastercard", set_default=False)
    assert portal.delete(f"/v1/customer-portal/customers/me/payment-methods/{card.id}").status_code == 204
    customer.refresh_from_db()
    assert customer.default_payment_method_id == other.id
    assert Subscription.objects.get(customer=customer).payment_method_id == other.id


def past_due_renewal(organization, customer):
    """A subscription whose renewal charge failed: past due, its cycle order pending in dunning."""
    product = monthly_product(organization, name="Pro", amount=1000)
    subscription = subscribe(customer, product, at=T0)
    declining = attach_card(customer, "pm_card_chargeCustomerFail")  # the new default: renewals fail
    Subscription.objects.filter(pk=subscription.pk).update(payment_method=declining)
    call_command("run_billing", now=dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC).isoformat())
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAST_DUE
    return subscription, Order.objects.get(subscription=subscription, billing_reason="subscription_cycle")


def test_adding_a_default_card_retries_what_is_past_due(portal, organization, customer):
    subscription, order = past_due_renewal(organization, customer)
    response = portal.post(
        "/v1/customer-portal/customers/me/payment-methods",
        {"confirmation_token_id": "pm_card_visa", "set_default": True, "return_url": "https://acme.test"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    order.refresh_from_db()
    subscription.refresh_from_db()
    assert (order.status, subscription.status) == (OrderStatus.PAID, SubscriptionStatus.ACTIVE)
    attempt = DunningAttempt.objects.get(order=order, kind=DunningAttemptKind.CUSTOMER)
    assert str(attempt.payment_method_id) == response.json()["payment_method"]["id"]


def test_adding_a_card_that_is_not_the_default_retries_nothing(portal, organization, customer):
    subscription, order = past_due_renewal(organization, customer)
    portal.post(
        "/v1/customer-portal/customers/me/payment-methods",
        {"confirmation_token_id": "pm_card_visa", "set_default": False, "return_url": "https://acme.test"},
        format="json",
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert not DunningAttempt.objects.filter(order=order, kind=DunningAttemptKind.CUSTOMER).exists()
