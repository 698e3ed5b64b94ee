"""Recovery through the customer portal: adding pm_card_visa in the portal API retries what is past due
at once (billing.portal calls dunning_retry_for_customer); a retry the portal makes itself
(confirm_retry_payment) ends the case at the next hourly step."""

from rest_framework.test import APIClient

from billing.models import BenefitGrant, DunningCase, DunningCaseStatus, Order, OrderStatus, SubscriptionStatus
from billing.portal.sessions import customer_session_create
from polar import clock

from .conftest import HOUR, RENEWAL, SLOTS, active_grants, payments, run_billing


def portal_for(customer) -> APIClient:
    _session, raw = customer_session_create(customer=customer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_adding_a_card_in_the_portal_recovers_the_past_due_subscription(customer, subscription, mailoutbox):
    run_billing(RENEWAL)
    run_billing(SLOTS[0])
    run_billing(SLOTS[1])  # past the grace period: benefits suspended
    assert active_grants(subscription) == 0
    order = Order.objects.get(subscription=subscription, status=OrderStatus.PENDING)

    with clock.freeze(SLOTS[1] + HOUR):
        response = portal_for(customer).post(
            "/v1/customer-portal/customers/me/payment-methods",
            {"confirmation_token_id": "pm_card_visa", "set_default": True, "return_url": "https://acme.test"},
            format="json",
        )

    assert response.status_code == 201, response.content
    order.refresh_from_db()
    subscription.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert subscription.status == SubscriptionStatus.ACTIVE
    # Renewals charge the new card from now on.
    assert str(subscription.payment_method_id) == response.json()["payment_method"]["id"]
    assert active_grants(subscription) == 1
    assert [p.status for p in payments(order)] == ["failed", "failed", "failed", "succeeded"]
    assert mailoutbox[-1].subject.startswith("Payment received")
    assert len(mailoutbox) == 4
    run_billing(SLOTS[2])
    assert len(payments(order)) == 4


def test_a_retry_confirmed_in_the_portal_ends_the_case_at_the_next_step(customer, subscription, mailoutbox):
    run_billing(RENEWAL)
    run_billing(SLOTS[1])
    order = Order.objects.get(subscription=subscription, status=OrderStatus.PENDING)
    client = portal_for(customer)
    with clock.freeze(SLOTS[1] + HOUR):
        response = client.post(
            f"/v1/customer-portal/orders/{order.id}/confirm-payment",
            {"confirmation_token_id": "pm_card_visa"},
            format="json",
        )
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID

    run_billing(SLOTS[1] + 2 * HOUR)

    case = DunningCase.objects.get(order=order)
    subscription.refresh_from_db()
    assert case.status == DunningCaseStatus.RECOVERED
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert BenefitGrant.objects.filter(subscription_id=subscription.id, revoked_at__isnull=True).count() == 1
    assert mailoutbox[-1].subject.startswith("Payment received")
