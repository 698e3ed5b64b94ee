"""Webhook events of the subscription lifecycle: written in the transaction, in order, with payloads
that parse as the SDK's resources."""

import pytest
from polar_sdk import models as m032

from billing.subscriptions import changes
from billing.subscriptions import lifecycle as subscription_lifecycle
from polar.webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def test_lifecycle_events_in_order_with_sdk_shaped_payloads(organization, customer, product, premium, card):
    subscription = subscription_lifecycle.subscription_create(organization=organization, customer=customer, product=product)
    subscription_lifecycle.subscription_cancel(subscription=subscription)
    subscription_lifecycle.subscription_uncancel(subscription=subscription)
    changes.subscription_change_product(subscription=subscription, product=premium, proration_behavior="invoice")
    subscription_lifecycle.subscription_revoke(subscription=subscription)

    types = list(WebhookEvent.objects.order_by("created_at", "id").values_list("type", flat=True))
    lifecycle = [t for t in types if t.startswith(("subscription.", "order."))]
    assert lifecycle == [
        "order.created",
        "subscription.created",
        "order.updated",
        "order.paid",
        "subscription.updated",
        "subscription.active",
        "subscription.updated",
        "subscription.canceled",
        "subscription.updated",
        "subscription.uncanceled",
        "order.created",
        "order.updated",
        "order.paid",
        "subscription.updated",
        "subscription.updated",
        "subscription.canceled",
        "subscription.revoked",
    ]
    assert "benefit_grant.created" in types and "benefit_grant.revoked" in types
    for event in WebhookEvent.objects.all():
        data = event.payload["data"]
        if event.type.startswith("subscription."):
            m032.Subscription.model_validate(data)
        elif event.type.startswith("order."):
            m032.Order.model_validate(data)


def test_checkout_events_parse_as_sdk_checkouts(api_client, anonymous_client, product):
    body = api_client.post("/v1/checkouts/", {"products": [str(product.id)]}, format="json").json()
    anonymous_client.post(
        f"/v1/checkouts/client/{body['client_secret']}/confirm",
        {"customer_email": "hook@example.com", "confirmation_token_id": "pm_card_visa"},
        format="json",
    )
    events = list(WebhookEvent.objects.filter(type__startswith="checkout.").order_by("created_at", "id"))
    assert [e.type for e in events] == ["checkout.created", "checkout.updated"]
    for event in events:
        m032.Checkout.model_validate(event.payload["data"])
    assert events[-1].payload["data"]["status"] == "succeeded"
