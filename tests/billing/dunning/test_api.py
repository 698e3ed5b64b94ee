"""POST /v1/orders/{id}/retry-payment and GET /v1/orders/{id}/payment-attempts: the merchant's side, with
tenant isolation, Polar's error shape for an order that cannot be retried, and Idempotency-Key."""

from billing.models import Order, OrderBillingReason, OrderStatus, Payment, SubscriptionStatus
from polar import clock
from tests.factories.payments import attach_card

from .conftest import RENEWAL, SLOTS, payments, run_billing


def past_due_order(subscription) -> Order:
    run_billing(RENEWAL)
    return Order.objects.get(subscription=subscription, billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE)


def test_retry_payment_with_a_good_card_pays_the_order(api_client, customer, subscription, mailoutbox):
    order = past_due_order(subscription)
    with clock.freeze(RENEWAL):
        attach_card(customer, "pm_card_visa")
        subscription.payment_method = None
        subscription.save(update_fields=["payment_method"])
        response = api_client.post(f"/v1/orders/{order.id}/retry-payment", HTTP_IDEMPOTENCY_KEY="retry-1")
        # The same key replays the answer: no second charge.
        again = api_client.post(f"/v1/orders/{order.id}/retry-payment", HTTP_IDEMPOTENCY_KEY="retry-1")

    assert response.status_code == 200, response.content
    assert again.status_code == 200 and again.json() == response.json()
    body = response.json()
    assert (body["id"], body["status"], body["paid"]) == (str(order.id), "paid", True)
    assert [(a["attempt_number"], a["status"], a["decline_reason"], a["dunning_kind"]) for a in body["payment_attempts"]] == [
        (1, "failed", "card_declined", "initial"),
        (2, "succeeded", None, "merchant"),
    ]
    assert body["dunning"]["status"] == "recovered"
    assert payments(order)[-1].trigger == Payment.Trigger.RETRY_ADMIN
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert len(payments(order)) == 2


def test_retry_payment_declined_shows_the_attempt_and_keeps_the_schedule(api_client, subscription):
    order = past_due_order(subscription)
    with clock.freeze(RENEWAL):
        response = api_client.post(f"/v1/orders/{order.id}/retry-payment")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert [a["decline_reason"] for a in body["payment_attempts"]] == ["card_declined", "card_declined"]
    assert body["dunning"]["status"] == "open"
    assert body["dunning"]["attempts_made"] == 2
    assert body["dunning"]["next_attempt_at"] == SLOTS[0].isoformat().replace("+00:00", "Z")
    assert body["next_payment_attempt_at"] == body["dunning"]["next_attempt_at"]


def test_retry_payment_of_a_paid_order_is_422_in_polars_shape(api_client, organization, customer, product):
    from billing.subscriptions.lifecycle import subscription_create

    attach_card(customer, "pm_card_visa")
    subscription = subscription_create(organization=organization, customer=customer, product=product)
    order = Order.objects.get(subscription=subscription)
    assert order.status == OrderStatus.PAID

    response = api_client.post(f"/v1/orders/{order.id}/retry-payment")

    assert response.status_code == 422
    assert response.json()["error"] == "OrderNotEligibleForRetry"
    assert "paid" in response.json()["detail"]
    assert len(payments(order)) == 1


def test_another_organizations_order_is_404(other_api_client, subscription):
    order = past_due_order(subscription)

    assert other_api_client.post(f"/v1/orders/{order.id}/retry-payment").status_code == 404
    assert other_api_client.get(f"/v1/orders/{order.id}/payment-attempts").status_code == 404
    assert len(payments(order)) == 1
    assert other_api_client.post("/v1/orders/not-a-uuid/retry-payment").status_code in (404, 422)


def test_payment_attempts_and_the_subscription_show_the_dunning_state(api_client, subscription):
    order = past_due_order(subscription)
    run_billing(SLOTS[0])

    body = api_client.get(f"/v1/orders/{order.id}/payment-attempts").json()
    assert [(a["attempt_number"], a["dunning_slot"], a["trigger"]) for a in body["payment_attempts"]] == [
        (1, None, "subscription_cycle"),
        (2, 1, "retry_dunning"),
    ]
    state = api_client.get(f"/v1/subscriptions/{subscription.id}").json()
    assert state["status"] == "past_due"
    assert state["dunning"]["attempts_made"] == 2
    assert state["dunning"]["next_attempt_at"] == SLOTS[1].isoformat().replace("+00:00", "Z")
    assert state["dunning"]["deadline_at"] == SLOTS[-1].isoformat().replace("+00:00", "Z")


def test_retry_payment_needs_the_orders_write_scope(organization, subscription):
    from rest_framework.test import APIClient

    from polar.organizations.services import access_token_create

    order = past_due_order(subscription)
    _row, raw = access_token_create(organization=organization, comment="read only", scopes=["orders:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.post(f"/v1/orders/{order.id}/retry-payment").status_code == 403
    assert client.get(f"/v1/orders/{order.id}/payment-attempts").status_code == 200
