"""Draft orders through both SDKs: orders.create writes a draft, orders.finalize charges the customer's
saved card (off-session); a second finalize is OrderNotDraft; another organization's draft is 404."""

import pytest
from polar_sdk import models as m032

from billing.models import SandboxSettings
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card
from tests.factories.subscriptions import one_time_product

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


@pytest.fixture
def buyer(contract_organization, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})
    customer = CustomerFactory(organization=contract_organization, email="buyer@example.com")
    attach_card(customer, "pm_card_visa")
    return {"customer": str(customer.id), "product": str(one_time_product(contract_organization, name="Credits", amount=900).id)}


def test_032_draft_and_finalize(sdk032, sdk032_other, buyer):
    draft = sdk032.orders.create(request={"customer_id": buyer["customer"], "product_id": buyer["product"], "amount": 1200})
    assert isinstance(draft, m032.Order) and (draft.status, draft.total_amount) == ("draft", 1200)
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.orders.finalize(id=draft.id)
    paid = sdk032.orders.finalize(id=draft.id)
    assert (paid.status, paid.paid) == ("paid", True)
    with pytest.raises(m032.OrderNotDraft):
        sdk032.orders.finalize(id=draft.id)


def test_10_draft_and_finalize(sdk10, buyer, contract_other_token):
    results = sdk10.run(
        op("orders.create", customer_id=buyer["customer"], product_id=buyer["product"], description="900 credits"),
        op("orders.finalize", "${0.id}", access_token=contract_other_token),
        op("orders.finalize", "${0.id}"),
        op("orders.finalize", "${0.id}"),
        op("orders.create", customer_id=buyer["customer"], product_id=buyer["product"], currency="eur"),
    )
    draft = ok(results[0])
    assert draft["__class__"] == "Order" and (draft["status"], draft["description"], draft["total_amount"]) == (
        "draft",
        "900 credits",
        900,
    )
    failed(results[1], "ResourceNotFound", 404)
    paid = ok(results[2])
    assert (paid["status"], paid["paid"]) == ("paid", True)
    failed(results[3], "OrderNotDraft", 412)
    error = failed(results[4], "HTTPValidationError", 422)
    assert error["body"]["detail"][0]["loc"] == ["body", "currency"]
