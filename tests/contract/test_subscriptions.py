"""Checkouts, subscriptions and orders through both SDKs: a merchant sells a monthly plan through a
checkout (client_confirm), then sees, cancels, uncancels and revokes the subscription and reads its
paid first order. Assertions are on the models the SDKs parsed."""

import pytest
from polar_sdk import models as m032

from billing.models import SandboxSettings
from tests.factories.subscriptions import custom_benefit, monthly_product

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


@pytest.fixture
def plan(contract_organization, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})
    benefit = custom_benefit(contract_organization)
    return monthly_product(contract_organization, name="Monthly", amount=1200, benefits=[benefit])


def test_032_checkout_to_subscription_to_order(sdk032, plan):
    checkout = sdk032.checkouts.create(request={"products": [str(plan.id)], "success_url": "https://shop.example/ok"})
    assert isinstance(checkout, m032.Checkout)
    assert checkout.status == "open" and checkout.total_amount == 1200 and checkout.product_id == str(plan.id)
    assert sdk032.checkouts.get(id=checkout.id).client_secret == checkout.client_secret

    confirmed = sdk032.checkouts.client_confirm(
        client_secret=checkout.client_secret,
        checkout_confirm_stripe={
            "customer_email": "sdk@example.com",
            "customer_name": "Sdk",
            "confirmation_token_id": "pm_card_visa",
        },
    )
    assert confirmed.customer_email == "sdk@example.com"
    assert sdk032.checkouts.get(id=checkout.id).status == "succeeded"

    subscriptions = sdk032.subscriptions.list().result
    assert subscriptions.pagination.total_count == 1
    subscription = subscriptions.items[0]
    assert isinstance(subscription, m032.Subscription)
    assert (subscription.status, subscription.amount, subscription.product.id) == ("active", 1200, str(plan.id))
    assert sdk032.subscriptions.get(id=subscription.id).id == subscription.id

    orders = sdk032.orders.list().result
    assert orders.pagination.total_count == 1
    order = orders.items[0]
    assert isinstance(order, m032.Order)
    assert (order.billing_reason, order.status, order.paid, order.total_amount) == ("subscription_create", "paid", True, 1200)
    assert order.subscription.id == subscription.id and [i.amount for i in order.items] == [1200]
    assert sdk032.orders.get(id=order.id).invoice_number == order.invoice_number
    invoice = sdk032.orders.invoice(id=order.id)
    assert isinstance(invoice, m032.OrderInvoice) and "/invoices/" in invoice.url

    canceled = sdk032.subscriptions.update(id=subscription.id, subscription_update={"cancel_at_period_end": True})
    assert canceled.cancel_at_period_end is True and canceled.ends_at is not None
    with pytest.raises(m032.AlreadyCanceledSubscription):
        sdk032.subscriptions.update(id=subscription.id, subscription_update={"cancel_at_period_end": True})
    uncanceled = sdk032.subscriptions.update(id=subscription.id, subscription_update={"cancel_at_period_end": False})
    assert uncanceled.cancel_at_period_end is False

    revoked = sdk032.subscriptions.revoke(id=subscription.id)
    assert revoked.status == "canceled" and revoked.ended_at is not None
    with pytest.raises(m032.AlreadyCanceledSubscription):
        sdk032.subscriptions.revoke(id=subscription.id)


def test_032_other_organizations_resources_are_not_found(sdk032, sdk032_other, plan):
    checkout = sdk032.checkouts.create(request={"products": [str(plan.id)]})
    sdk032.checkouts.client_confirm(
        client_secret=checkout.client_secret,
        checkout_confirm_stripe={"customer_email": "iso@example.com", "confirmation_token_id": "pm_card_visa"},
    )
    subscription = sdk032.subscriptions.list().result.items[0]
    order = sdk032.orders.list().result.items[0]
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.subscriptions.get(id=subscription.id)
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.orders.get(id=order.id)
    assert sdk032_other.subscriptions.list().result.pagination.total_count == 0


def test_10_checkout_to_subscription_to_order(sdk10, plan):
    results = sdk10.run(
        op("checkouts.create", products=[str(plan.id)], success_url="https://shop.example/ok"),
        op("checkouts.get", "${0.id}"),
        op(
            "checkouts.client_confirm",
            "${0.client_secret}",
            customer_email="sdk10@example.com",
            customer_name="Sdk Ten",
            confirmation_token_id="pm_card_visa",
        ),
        op("subscriptions.list"),
        op("subscriptions.get", "${3.items.0.id}"),
        op("orders.list"),
        op("orders.get", "${5.items.0.id}"),
        op("subscriptions.update", "${3.items.0.id}", cancel_at_period_end=True),
        op("subscriptions.update", "${3.items.0.id}", cancel_at_period_end=True),
        op("subscriptions.update", "${3.items.0.id}", cancel_at_period_end=False),
        op("subscriptions.revoke", "${3.items.0.id}"),
        op("subscriptions.revoke", "${3.items.0.id}"),
        op("orders.invoice", "${5.items.0.id}"),
    )
    checkout = ok(results[0])
    assert checkout["__class__"] == "Checkout" and checkout["total_amount"] == 1200
    assert ok(results[1])["id"] == checkout["id"]
    assert ok(results[2])["customer_email"] == "sdk10@example.com"
    listed = ok(results[3])
    assert listed["pagination"]["total_count"] == 1
    subscription = ok(results[4])
    assert (subscription["status"], subscription["amount"]) == ("active", 1200)
    assert ok(results[5])["pagination"]["total_count"] == 1
    order = ok(results[6])
    assert (order["billing_reason"], order["status"], order["paid"]) == ("subscription_create", "paid", True)
    assert order["items"][0]["start_timestamp"] is not None
    assert ok(results[7])["cancel_at_period_end"] is True
    # 1.0.2 wraps update's 403 body (one of several error types) in SubscriptionsUpdate403Error.
    assert failed(results[8], "SubscriptionsUpdate403Error", 403)["body"]["__class__"] == "AlreadyCanceledSubscription"
    assert ok(results[9])["cancel_at_period_end"] is False
    assert ok(results[10])["status"] == "canceled"
    failed(results[11], "AlreadyCanceledSubscription", 403)
    assert "/invoices/" in ok(results[12])["url"]
