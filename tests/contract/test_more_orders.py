"""Order and subscription list filters test_subscriptions.py does not cover, through both SDKs: a one-time
purchase and a subscription bought through checkouts, then orders.list by product, customer, checkout,
subscription and billing type, orders.invoice of the purchase, subscriptions.list by product, status and
cancel_at_period_end. Assertions are on the models the SDKs parsed."""

import pytest
from polar_sdk import models as m032

from billing.models import SandboxSettings
from tests.factories.subscriptions import monthly_product, one_time_product

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


@pytest.fixture
def shop(contract_organization, settings, live_server):
    """A one-time e-book (2500) bought by one customer, a monthly plan (1200) bought by another."""
    from polar_sdk import Polar

    from polar.organizations.services import access_token_create

    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})
    ebook = one_time_product(contract_organization, name="E-book", amount=2500)
    plan = monthly_product(contract_organization, name="Monthly", amount=1200)
    _row, token = access_token_create(organization=contract_organization, comment="shop fixture")
    client = Polar(access_token=token, server_url=live_server.url)
    checkouts = {}
    for product, email in ((ebook, "reader@example.com"), (plan, "member@example.com")):
        checkout = client.checkouts.create(request={"products": [str(product.id)]})
        client.checkouts.client_confirm(
            client_secret=checkout.client_secret,
            checkout_confirm_stripe={"customer_email": email, "confirmation_token_id": "pm_card_visa"},
        )
        checkouts[product.name] = checkout.id
    return {"ebook": ebook, "plan": plan, "checkouts": checkouts}


# --- 0.32.x ---------------------------------------------------------------------------------------


def test_032_order_filters_and_purchase_invoice(sdk032, sdk032_other, shop):
    every = sdk032.orders.list().result
    assert every.pagination.total_count == 2

    [purchase] = sdk032.orders.list(product_id=str(shop["ebook"].id)).result.items
    assert isinstance(purchase, m032.Order)
    assert (purchase.billing_reason, purchase.total_amount, purchase.subscription_id) == ("purchase", 2500, None)
    assert purchase.product.id == str(shop["ebook"].id) and purchase.customer.email == "reader@example.com"
    assert [i.amount for i in purchase.items] == [2500]

    assert [o.id for o in sdk032.orders.list(customer_id=purchase.customer_id).result.items] == [purchase.id]
    assert [o.id for o in sdk032.orders.list(checkout_id=shop["checkouts"]["E-book"]).result.items] == [purchase.id]
    one_time = sdk032.orders.list(product_billing_type=m032.ProductBillingType.ONE_TIME).result.items
    assert [o.id for o in one_time] == [purchase.id]
    [renewing] = sdk032.orders.list(product_billing_type=m032.ProductBillingType.RECURRING).result.items
    assert renewing.billing_reason == "subscription_create" and renewing.subscription_id is not None
    assert [o.id for o in sdk032.orders.list(subscription_id=renewing.subscription_id).result.items] == [renewing.id]

    invoice = sdk032.orders.invoice(id=purchase.id)
    assert isinstance(invoice, m032.OrderInvoice) and "/invoices/" in invoice.url
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.orders.invoice(id=purchase.id)


def test_032_subscription_filters(sdk032, shop):
    [subscription] = sdk032.subscriptions.list(product_id=str(shop["plan"].id)).result.items
    assert sdk032.subscriptions.list(product_id=str(shop["ebook"].id)).result.pagination.total_count == 0
    assert [s.id for s in sdk032.subscriptions.list(active=True).result.items] == [subscription.id]
    assert sdk032.subscriptions.list(status=m032.SubscriptionStatus.CANCELED).result.pagination.total_count == 0
    assert sdk032.subscriptions.list(cancel_at_period_end=True).result.pagination.total_count == 0
    sdk032.subscriptions.update(id=subscription.id, subscription_update={"cancel_at_period_end": True})
    [canceling] = sdk032.subscriptions.list(cancel_at_period_end=True).result.items
    assert canceling.id == subscription.id and canceling.cancel_at_period_end is True
    assert [s.id for s in sdk032.subscriptions.list(customer_id=subscription.customer_id).result.items] == [subscription.id]


# --- 1.0.x ----------------------------------------------------------------------------------------


def test_10_order_and_subscription_filters(sdk10, shop, contract_other_token):
    results = sdk10.run(
        op("orders.list", product_id=str(shop["ebook"].id)),
        op("orders.list", product_billing_type="recurring"),
        op("orders.list", checkout_id=shop["checkouts"]["Monthly"]),
        op("orders.invoice", "${0.items.0.id}"),
        op("orders.invoice", "${0.items.0.id}", access_token=contract_other_token),
        op("subscriptions.list", product_id=str(shop["plan"].id), active=True),
        op("subscriptions.list", product_id=str(shop["ebook"].id)),
        op("orders.get", "${0.items.0.id}", access_token=contract_other_token),
    )
    purchases = ok(results[0])
    assert purchases["pagination"]["total_count"] == 1
    purchase = purchases["items"][0]
    assert purchase["__class__"] == "Order"
    assert (purchase["billing_reason"], purchase["total_amount"], purchase["subscription_id"]) == ("purchase", 2500, None)
    recurring = ok(results[1])["items"]
    assert [o["billing_reason"] for o in recurring] == ["subscription_create"]
    assert [o["id"] for o in ok(results[2])["items"]] == [recurring[0]["id"]]
    assert "/invoices/" in ok(results[3])["url"]
    failed(results[4], "ResourceNotFound", 404)
    subscriptions = ok(results[5])
    assert [s["id"] for s in subscriptions["items"]] == [recurring[0]["subscription_id"]]
    assert ok(results[6])["pagination"]["total_count"] == 0
    failed(results[7], "ResourceNotFound", 404)
