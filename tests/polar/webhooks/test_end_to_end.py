"""Issue 7's "done when", with the real services: a subscription bought through the checkout API, renewed by
``billing_run``, cancelled and revoked through the API delivers its events, signed and in order, to a
receiver that verifies every signature with the standardwebhooks library."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from billing.models import Subscription
from billing.scheduler import billing_run
from polar import clock
from tests.factories.subscriptions import monthly_product

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
TYPES = [
    "subscription.created",
    "subscription.active",
    "subscription.updated",
    "subscription.canceled",
    "subscription.revoked",
    "order.created",
    "order.paid",
]


def test_checkout_renewal_cancel_revoke_arrive_signed_and_in_order(
    api_client, organization, receiver, make_endpoint, sweep, django_capture_on_commit_callbacks
):
    make_endpoint(events=TYPES)
    product = monthly_product(organization, amount=1900)

    def at(instant, call):
        with clock.freeze(instant), django_capture_on_commit_callbacks(execute=True):
            return call()

    checkout = at(START, lambda: api_client.post("/v1/checkouts/", {"products": [str(product.id)]}, format="json")).json()
    confirm = {"customer_email": "e2e@example.com", "customer_name": "E2E", "confirmation_token_id": "pm_card_visa"}
    response = at(
        START, lambda: APIClient().post(f"/v1/checkouts/client/{checkout['client_secret']}/confirm", confirm, format="json")
    )
    assert response.status_code == 200
    subscription = Subscription.objects.get(organization=organization)

    renewal_at = subscription.current_period_end + dt.timedelta(minutes=1)
    at(renewal_at, lambda: billing_run(now=renewal_at))
    cancel_at = renewal_at + dt.timedelta(days=2)
    assert (
        at(
            cancel_at,
            lambda: api_client.patch(f"/v1/subscriptions/{subscription.id}", {"cancel_at_period_end": True}, format="json"),
        ).status_code
        == 200
    )
    assert (
        at(cancel_at + dt.timedelta(hours=1), lambda: api_client.delete(f"/v1/subscriptions/{subscription.id}")).status_code
        == 200
    )
    for _ in range(3):
        sweep(cancel_at + dt.timedelta(hours=2))

    delivered = receiver.at("/hook")
    assert delivered and all(request["error"] is None and request["payload"] for request in delivered)
    # one delivery per event: no duplicates, and webhook-id is the event id
    assert len({request["headers"]["webhook-id"] for request in delivered}) == len(delivered)
    types = [request["payload"]["type"] for request in delivered]
    subscription_events = [
        request["payload"]["type"]
        for request in delivered
        if request["payload"]["type"].startswith("subscription.") and request["payload"]["data"]["id"] == str(subscription.id)
    ]
    # the story, in order (subscription.updated accompanies several steps)
    story = [t for t in subscription_events if t != "subscription.updated"]
    assert story == ["subscription.created", "subscription.active", "subscription.canceled", "subscription.revoked"]
    # two paid orders: the first period at checkout and the renewal, each created before it is paid
    paid = [request["payload"]["data"] for request in delivered if request["payload"]["type"] == "order.paid"]
    assert [(order["billing_reason"], order["total_amount"]) for order in paid] == [
        ("subscription_create", 1900),
        ("subscription_cycle", 1900),
    ]
    assert types.index("order.created") < types.index("order.paid")
    # and in the order the events were written
    timestamps = [request["payload"]["timestamp"] for request in delivered]
    assert timestamps == sorted(timestamps)
