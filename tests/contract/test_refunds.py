"""Refunds through both SDKs: a paid order (bought through a checkout confirmed with the 0.32 SDK) is
refunded in part, listed, refunded in full, and a further refund is the typed ``RefundedAlready``."""

import pytest
from polar_sdk import models as m032

from billing.models import Order, SandboxSettings
from tests.factories.subscriptions import one_time_product

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


@pytest.fixture
def ebook(contract_organization, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})
    return one_time_product(contract_organization, name="E-book", amount=2500)


def _paid_order(sdk032, product, email) -> Order:
    checkout = sdk032.checkouts.create(request={"products": [str(product.id)]})
    sdk032.checkouts.client_confirm(
        client_secret=checkout.client_secret,
        checkout_confirm_stripe={"customer_email": email, "confirmation_token_id": "pm_card_visa"},
    )
    order = Order.objects.get(checkout_id=checkout.id)
    assert order.status == "paid"
    return order


def test_032_refunds_create_list_and_refunded_already(sdk032, ebook):
    order = _paid_order(sdk032, ebook, "refund032@example.com")
    refund = sdk032.refunds.create(
        request={"order_id": str(order.id), "reason": "customer_request", "amount": 1000, "revoke_benefits": False}
    )
    assert isinstance(refund, m032.Refund)
    assert (refund.amount, refund.status, refund.reason, refund.order_id, refund.dispute) == (
        1000,
        "succeeded",
        "customer_request",
        str(order.id),
        None,
    )
    page = sdk032.refunds.list(order_id=str(order.id)).result
    assert [item.id for item in page.items] == [refund.id]
    assert sdk032.orders.get(id=str(order.id)).status == "partially_refunded"

    sdk032.refunds.create(request={"order_id": str(order.id), "reason": "other", "amount": 1500})
    assert sdk032.orders.get(id=str(order.id)).status == "refunded"
    with pytest.raises(m032.RefundedAlready):
        sdk032.refunds.create(request={"order_id": str(order.id), "reason": "other", "amount": 1})


def test_10_refunds_create_list_and_refunded_already(sdk10, sdk032, ebook, contract_other_token):
    order = _paid_order(sdk032, ebook, "refund10@example.com")
    results = sdk10.run(
        op("refunds.create", order_id=str(order.id), reason="customer_request", amount=700, revoke_benefits=False),
        op("refunds.list", order_id=str(order.id)),
        op("refunds.create", order_id=str(order.id), reason="duplicate", amount=1800),
        op("refunds.create", order_id=str(order.id), reason="other", amount=1),
        op("refunds.list", access_token=contract_other_token),
    )
    created = ok(results[0])
    assert (created["amount"], created["status"], created["currency"], created["order_id"]) == (
        700,
        "succeeded",
        "usd",
        str(order.id),
    )
    listed = ok(results[1])
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert ok(results[2])["amount"] == 1800
    failed(results[3], "RefundedAlready", 403)
    assert ok(results[4])["items"] == []
