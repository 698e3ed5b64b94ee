"""Disputes through polar-sdk 0.32 and 1.0.2: a sandbox dispute (pm_card_createDispute) is listed, read
and accepted; accepting it again is the typed DisputeNotOpenError (409); another organization gets 404."""

import pytest
from polar_sdk import models as m032

from billing.disputes.services import disputes_sync
from billing.models import Dispute, SandboxSettings
from billing.orders.services import order_charge
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card
from tests.factories.subscriptions import pending_order

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


@pytest.fixture
def dispute(contract_organization, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})
    customer = CustomerFactory(organization=contract_organization)
    order = pending_order(customer, amount=2000)
    order_charge(order=order, payment_method=attach_card(customer, token="pm_card_createDispute"))
    disputes_sync()
    return Dispute.objects.get(order=order)


def test_032_disputes_list_get_accept(sdk032, sdk032_other, dispute):
    page = sdk032.disputes.list(order_id=str(dispute.order_id)).result
    assert [item.id for item in page.items] == [str(dispute.id)]
    got = sdk032.disputes.get(id=str(dispute.id))
    assert isinstance(got, m032.Dispute)
    assert (got.status, got.amount, got.closed, got.payment_id) == ("needs_response", 2000, False, str(dispute.payment_id))
    accepted = sdk032.disputes.accept(id=str(dispute.id))
    assert (accepted.status, accepted.closed, accepted.resolved) == ("lost", True, True)
    with pytest.raises(m032.DisputeNotOpenError):
        sdk032.disputes.accept(id=str(dispute.id))
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.disputes.get(id=str(dispute.id))


def test_10_disputes_list_get_accept(sdk10, dispute):
    results = sdk10.run(
        op("disputes.list", order_id=str(dispute.order_id)),
        op("disputes.get", id=str(dispute.id)),
        op("disputes.accept", id=str(dispute.id)),
        op("disputes.accept", id=str(dispute.id)),
    )
    listed, got, accepted, again = results
    assert [item["id"] for item in ok(listed)["items"]] == [str(dispute.id)]
    assert ok(got)["status"] == "needs_response"
    assert ok(accepted)["status"] == "lost"
    assert failed(again, "DisputeNotOpenError", 409)
