"""customer_portal.orders: list/get scoped to the session's customer, invoice and receipt links, payment
status, and a retry that pays a past-due renewal and returns the subscription to active."""

import datetime as dt

import pytest
from django.core.management import call_command

from billing.models import DunningAttempt, DunningAttemptKind, DunningCaseStatus, Order, OrderStatus, SubscriptionStatus
from tests.billing.portal.conftest import subscribe
from tests.factories.payments import attach_card
from tests.factories.subscriptions import monthly_product, pending_order

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 31, 12, 0, tzinfo=dt.UTC)


def test_list_and_get_only_the_customers_own(portal, customer, other_customer):
    own = pending_order(customer, amount=2000)
    foreign = pending_order(other_customer, amount=500)
    body = portal.get("/v1/customer-portal/orders/").json()
    assert [item["id"] for item in body["items"]] == [str(own.id)]
    item = body["items"][0]
    assert (item["total_amount"], item["status"], item["paid"]) == (2000, "pending", False)
    assert item["product"]["organization"]["slug"] == "acme"
    assert "customer" not in item and "metadata" not in item and "platform_fee_amount" not in item
    for suffix in ("", "/invoice", "/receipt", "/payment-status"):
        assert portal.get(f"/v1/customer-portal/orders/{foreign.id}{suffix}").status_code == 404
    response = portal.post(f"/v1/customer-portal/orders/{foreign.id}/confirm-payment", {"payment_method_id": None}, format="json")
    assert response.status_code == 404


def test_invoice_link_and_receipt_only_when_paid(portal, anonymous_client, customer):
    order = pending_order(customer, amount=2000)
    url = portal.get(f"/v1/customer-portal/orders/{order.id}/invoice").json()["url"]
    assert "/invoices/" in url
    assert anonymous_client.get(url.split("testserver", 1)[1]).status_code == 200
    assert portal.get(f"/v1/customer-portal/orders/{order.id}/receipt").status_code == 202
    assert portal.get(f"/v1/customer-portal/orders/{order.id}/payment-status").json() == {"status": "no_payment", "error": None}


def test_retry_with_a_saved_card_pays_the_order(portal, customer):
    order = pending_order(customer, amount=2000)
    card = attach_card(customer, "pm_card_visa")
    response = portal.post(
        f"/v1/customer-portal/orders/{order.id}/confirm-payment", {"payment_method_id": str(card.id)}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "succeeded", "client_secret": None}
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert portal.get(f"/v1/customer-portal/orders/{order.id}/payment-status").json()["status"] == "succeeded"
    assert portal.get(f"/v1/customer-portal/orders/{order.id}/receipt").json()["url"]
    # Paid: not eligible any more.
    response = portal.post(
        f"/v1/customer-portal/orders/{order.id}/confirm-payment", {"payment_method_id": str(card.id)}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["error"] == "OrderNotEligibleForRetry"


def test_retry_with_another_customers_card_is_422(portal, customer, other_customer):
    order = pending_order(customer, amount=2000)
    foreign = attach_card(other_customer, "pm_card_visa")
    response = portal.post(
        f"/v1/customer-portal/orders/{order.id}/confirm-payment", {"payment_method_id": str(foreign.id)}, format="json"
    )
    assert response.status_code == 422
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING


def test_declined_retry_reports_failed_and_the_decline(portal, customer):
    order = pending_order(customer, amount=2000)
    response = portal.post(
        f"/v1/customer-portal/orders/{order.id}/confirm-payment",
        {"confirmation_token_id": "pm_card_chargeCustomerFail"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "failed"
    status = portal.get(f"/v1/customer-portal/orders/{order.id}/payment-status").json()
    assert status["status"] == "failed" and status["error"]


def test_retry_of_a_past_due_renewal_recovers_the_subscription(portal, organization, customer):
    product = monthly_product(organization, name="Pro", amount=1000)
    subscription = subscribe(customer, product, at=T0)
    declining = attach_card(customer, "pm_card_chargeCustomerFail", set_default=False)
    subscription.payment_method = declining
    subscription.save(update_fields=["payment_method"])
    call_command("run_billing", now=dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC).isoformat())
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAST_DUE
    order = Order.objects.get(subscription=subscription, billing_reason="subscription_cycle")

    response = portal.post(
        f"/v1/customer-portal/orders/{order.id}/confirm-payment", {"confirmation_token_id": "pm_card_visa"}, format="json"
    )
    assert response.json()["status"] == "succeeded"
    order.refresh_from_db()
    subscription.refresh_from_db()
    assert (order.status, subscription.status) == (OrderStatus.PAID, SubscriptionStatus.ACTIVE)
    # Through dunning: the attempt is on the order's case (now recovered), the new card the default.
    attempt = DunningAttempt.objects.get(order=order, kind=DunningAttemptKind.CUSTOMER)
    assert attempt.case.status == DunningCaseStatus.RECOVERED
    customer.refresh_from_db()
    assert customer.default_payment_method_id == attempt.payment_method_id


def test_update_billing_details_and_generate_invoice(portal, customer, other_customer):
    order = pending_order(customer, amount=2000)
    response = portal.post(f"/v1/customer-portal/orders/{order.id}/invoice")
    assert response.status_code == 422
    assert response.json()["error"] == "MissingInvoiceBillingDetails"
    address = {"line1": "1 Main St", "postal_code": "10115", "city": "Berlin", "country": "DE"}
    response = portal.patch(
        f"/v1/customer-portal/orders/{order.id}", {"billing_name": "Jane GmbH", "billing_address": address}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["billing_name"], response.json()["billing_address"]["country"]) == ("Jane GmbH", "DE")
    response = portal.post(f"/v1/customer-portal/orders/{order.id}/invoice")
    assert (response.status_code, response.content) == (202, b"null")
    foreign = pending_order(other_customer, amount=500)
    assert portal.patch(f"/v1/customer-portal/orders/{foreign.id}", {"billing_name": "X"}, format="json").status_code == 404
    assert portal.post(f"/v1/customer-portal/orders/{foreign.id}/invoice").status_code == 404
    foreign.refresh_from_db()
    assert foreign.billing_name != "X"
