"""The subscription and order admin: read-only, changes only through the service actions."""

import pytest

from billing.models import Subscription
from billing.subscriptions import lifecycle
from polar.webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def test_revoke_action_goes_through_the_service(admin_client, organization, customer, product, card):
    subscription = lifecycle.subscription_create(organization=organization, customer=customer, product=product)
    response = admin_client.post("/admin/billing/subscription/", {"action": "revoke", "_selected_action": [str(subscription.pk)]})
    assert response.status_code == 302
    assert Subscription.objects.get().status == "canceled"
    assert WebhookEvent.objects.filter(type="subscription.revoked").count() == 1


def test_order_and_subscription_pages_render_read_only(admin_client, organization, customer, product, card):
    subscription = lifecycle.subscription_create(organization=organization, customer=customer, product=product)
    order = subscription.orders.get()
    assert admin_client.get(f"/admin/billing/subscription/{subscription.pk}/change/").status_code == 200
    page = admin_client.get(f"/admin/billing/order/{order.pk}/change/")
    assert page.status_code == 200 and b"Pro" in page.content
    assert admin_client.get("/admin/billing/order/add/").status_code == 403
