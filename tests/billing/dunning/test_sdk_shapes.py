"""What dunning sends parses as polar-sdk 0.32's strict models: the subscription.past_due webhook, an
unpaid subscription (with the extra ``dunning`` key) and the order of a retried payment."""

from polar_sdk import models as sdk

from billing.models import DunningEndAction, DunningSettings, Order
from polar.webhooks.models import WebhookEvent

from .conftest import RENEWAL, SLOTS, run_billing


def test_the_past_due_webhook_parses(organization, subscription):
    run_billing(RENEWAL)

    event = WebhookEvent.objects.get(organization=organization, type="subscription.past_due")
    parsed = sdk.WebhookSubscriptionPastDuePayload.model_validate(event.payload)
    assert parsed.data.status == "past_due"
    assert parsed.data.id == str(subscription.id)


def test_an_unpaid_subscription_and_a_retried_order_parse(api_client, organization, subscription):
    DunningSettings.objects.create(organization=organization, end_action=DunningEndAction.UNPAID)
    run_billing(RENEWAL)
    for slot in SLOTS:
        run_billing(slot)

    body = api_client.get(f"/v1/subscriptions/{subscription.id}").json()
    assert body["status"] == "unpaid" and body["dunning"]["status"] == "exhausted"
    assert sdk.Subscription.model_validate(body).status == "unpaid"
    order = Order.objects.get(subscription=subscription, billing_reason="subscription_cycle")
    retried = api_client.post(f"/v1/orders/{order.id}/retry-payment").json()
    assert retried["dunning"]["attempts_made"] == 6
    assert sdk.Order.model_validate(retried).status == "pending"
