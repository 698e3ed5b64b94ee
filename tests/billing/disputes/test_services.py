"""Disputes from the sandbox (pm_card_createDispute): recorded by the sync, resolved by the processor or
accepted, with their ledger postings (2000 usd payment: merchant pending 1880; dispute fee 1500)."""

import pytest

from billing.disputes.services import DisputeNotOpenError, dispute_accept, disputes_sync
from billing.models import Dispute, SandboxDispute
from billing.orders.services import order_charge
from payouts.checks import ledger_breaches
from payouts.ledger import merchant_account_key
from payouts.selectors import account_balance, merchant_balances
from polar.errors import ResourceNotFound
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card
from tests.factories.subscriptions import pending_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def disputed_order(organization, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    customer = CustomerFactory(organization=organization)
    order = pending_order(customer, amount=2000)
    payment = order_charge(order=order, payment_method=attach_card(customer, token="pm_card_createDispute"))
    assert payment.status == "succeeded"
    return order


def test_a_sandbox_dispute_is_recorded_once_and_reserves_the_amount_plus_fee(organization, disputed_order):
    assert disputes_sync() == 1
    assert disputes_sync() == 0
    dispute = Dispute.objects.get()
    assert (dispute.order_id, dispute.status, dispute.amount, dispute.fee) == (disputed_order.id, "needs_response", 2000, 1500)
    assert dispute.evidence_due_by is not None
    # The payment's pending 1880 goes first; the 1620 beyond it becomes debt (available never below zero).
    assert merchant_balances(organization_id=organization.id)["usd"] == {
        "pending": 0,
        "available": 0,
        "reserve": 2000,
        "in_transit": 0,
        "debt": 2000 + 1500 - 1880,
    }
    assert ledger_breaches() == 0


def test_won_releases_the_reserve_to_available(organization, disputed_order):
    disputes_sync()
    SandboxDispute.objects.update(status="won")
    assert disputes_sync() == 1
    assert Dispute.objects.get().status == "won"
    balances = merchant_balances(organization_id=organization.id)["usd"]
    # The 2000 back repays the 1620 of debt first (the dispute fee is not returned).
    assert (balances["reserve"], balances["debt"], balances["available"]) == (0, 0, 2000 - 1620)


def test_lost_gives_the_reserve_back_to_the_customer(organization, disputed_order):
    disputes_sync()
    SandboxDispute.objects.update(status="lost")
    disputes_sync()
    balances = merchant_balances(organization_id=organization.id)["usd"]
    assert (balances["reserve"], balances["pending"], balances["available"], balances["debt"]) == (0, 0, 0, 3500 - 1880)
    # Clearing: +2000 -88 (processor fee) -1500 (dispute fee) -2000 (back to the customer).
    assert account_balance(key="processor:sandbox:clearing", currency="usd") == 2000 - 88 - 1500 - 2000


def test_accept_closes_an_open_dispute_once_and_is_scoped(organization, other_organization, disputed_order):
    disputes_sync()
    dispute = Dispute.objects.get()
    with pytest.raises(ResourceNotFound):
        dispute_accept(organization=other_organization, dispute_id=dispute.id)
    assert dispute_accept(organization=organization, dispute_id=dispute.id).status == "accepted"
    with pytest.raises(DisputeNotOpenError):
        dispute_accept(organization=organization, dispute_id=dispute.id)
    reserve = merchant_account_key(organization.id, "merchant_reserve")
    assert account_balance(key=reserve, currency="usd") == 0
    # The processor later reporting it lost changes nothing.
    SandboxDispute.objects.update(status="lost")
    assert disputes_sync() == 0


def test_run_billing_records_a_reported_dispute_and_a_second_run_changes_nothing(disputed_order):
    from billing.scheduler import billing_run
    from billing.tasks import disputes_sync as disputes_sync_task
    from polar import clock

    first = billing_run(now=clock.now())
    assert first["disputes_sync"] == 1
    assert Dispute.objects.filter(order=disputed_order).count() == 1
    assert billing_run(now=clock.now())["disputes_sync"] == 0
    assert disputes_sync_task.delay().get() == 0
