"""Payouts through the API and the services: the whole available balance leaves for a verified bank
account, pending → in_transit → succeeded or failed (money back), each step posted once (docs/ledger.md).
A 2000 usd payment leaves 1880 available once released (platform fee 4 % + 40 = 120)."""

import datetime as dt
import uuid

import pytest
from auditlog.models import LogEntry

from payouts.checks import ledger_breaches
from payouts.models import LedgerTransaction, Payout, PayoutAccount
from payouts.processor import TRANSIT_TIME
from payouts.selectors import merchant_balances
from payouts.services import (
    payout_account_settings_update,
    payout_create,
    payout_freeze,
    payout_unfreeze,
    payouts_process,
    payouts_weekly,
)
from polar import clock
from tests.factories import OrganizationFactory

from .conftest import FAILING_ACCOUNT, available_funds, bank_account

pytestmark = pytest.mark.django_db

PAYOUT_KEYS = {
    "id", "created_at", "modified_at", "processor", "status", "paid_at", "currency", "amount", "fees_amount",
    "gross_amount", "account_currency", "account_amount", "account_id", "invoice_number", "is_invoice_generated",
    "transaction_id", "fees_transactions", "attempts",
}  # fmt: skip


def _balances(organization):
    return merchant_balances(organization_id=organization.id)["usd"]


def test_create_pays_out_the_whole_available_balance(organization, api_client):
    available_funds(organization)
    bank_account(organization)
    response = api_client.post("/v1/payouts/", {"organization_id": str(organization.id)}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert PAYOUT_KEYS <= set(body)
    assert (body["status"], body["amount"], body["currency"], body["fees_amount"]) == ("pending", 1880, "usd", 0)
    assert body["transaction_id"] == str(LedgerTransaction.objects.get(idempotency_key=f"payout:{body['id']}:requested").id)
    assert body["bank_account_last4"] == "6789"
    assert _balances(organization) | {} == {"pending": 0, "available": 0, "reserve": 0, "in_transit": 1880, "debt": 0}
    assert ledger_breaches() == 0

    listed = api_client.get("/v1/payouts/").json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    assert api_client.get(f"/v1/payouts/{body['id']}").json()["amount"] == 1880
    # Nothing left: the second request is refused, in Polar's error shape.
    again = api_client.post("/v1/payouts/", {}, format="json")
    assert again.status_code == 400
    assert again.json()["error"] == "InsufficientBalance"
    assert "minimum withdrawal amount is 10.00 USD" in again.json()["detail"]


def test_under_the_minimum_is_refused_and_nothing_is_written(organization, api_client):
    available_funds(organization, amount=1000)  # 1000 - 80 = 920 available < 1000
    bank_account(organization)
    assert api_client.get("/v1/payouts/estimate").json()["error"] == "InsufficientBalance"
    response = api_client.post("/v1/payouts/", {}, format="json")
    assert (response.status_code, response.json()["error"]) == (400, "InsufficientBalance")
    assert not Payout.objects.exists()
    assert _balances(organization)["available"] == 920


def test_estimate_answers_what_a_payout_would_pay(organization, api_client):
    available_funds(organization)
    account = bank_account(organization)
    assert api_client.get("/v1/payouts/estimate").json() == {
        "account_id": str(account.id),
        "payout_account_id": str(account.id),
        "gross_amount": 1880,
        "fees_amount": 0,
        "net_amount": 1880,
        "currency": "usd",
    }


def test_frozen_organization_cannot_pay_out_until_unfrozen_and_the_freeze_is_audited(organization, api_client):
    available_funds(organization)
    bank_account(organization)
    payout_freeze(organization=organization, reason="chargeback spike")
    response = api_client.post("/v1/payouts/", {}, format="json")
    assert (response.status_code, response.json()["error"]) == (403, "PayoutsFrozen")
    assert not Payout.objects.exists()
    account = PayoutAccount.objects.get(organization=organization)
    changes = [entry.changes_dict for entry in LogEntry.objects.get_for_object(account).order_by("timestamp")]
    assert any(change.get("frozen_reason", [None, None])[1] == "chargeback spike" for change in changes)
    with pytest.raises(ValueError):
        payout_freeze(organization=organization, reason=" ")

    payout_unfreeze(organization=organization, reason="reviewed: fine")
    assert api_client.post("/v1/payouts/", {}, format="json").status_code == 201


def test_a_freeze_holds_a_pending_payout(organization):
    available_funds(organization)
    bank_account(organization)
    payout = payout_create(organization=organization)
    payout_freeze(organization=organization, reason="review")
    assert payouts_process(now=clock.now())["sent"] == 0
    assert Payout.objects.get(pk=payout.pk).status == "pending"
    payout_unfreeze(organization=organization, reason="ok")
    assert payouts_process(now=clock.now())["sent"] == 1


@pytest.mark.parametrize("verified", [False, None])
def test_an_unverified_or_missing_account_is_refused(organization, api_client, verified):
    available_funds(organization)
    if verified is not None:
        bank_account(organization, verified=verified)
    response = api_client.post("/v1/payouts/", {}, format="json")
    assert (response.status_code, response.json()["error"]) == (403, "PayoutAccountNotReady")
    assert not Payout.objects.exists()


def test_changing_bank_details_needs_verification_again(organization):
    account = bank_account(organization)
    assert account.is_verified
    assert not bank_account(organization, number="000999999999", verified=False).is_verified


def test_tenant_isolation(organization, other_organization, api_client, other_api_client):
    available_funds(organization)
    bank_account(organization)
    payout = api_client.post("/v1/payouts/", {}, format="json").json()
    assert other_api_client.get(f"/v1/payouts/{payout['id']}").status_code == 404
    assert other_api_client.get("/v1/payouts/").json()["pagination"]["total_count"] == 0
    assert api_client.get(f"/v1/payouts/{uuid.uuid4()}").status_code == 404
    # Naming another organization in the body: 404, nothing paid out of anyone.
    available_funds(other_organization)
    bank_account(other_organization)
    response = api_client.post("/v1/payouts/", {"organization_id": str(other_organization.id)}, format="json")
    assert response.status_code == 404
    assert api_client.get("/v1/payouts/", {"organization_id": str(other_organization.id)}).json()["items"] == []
    assert Payout.objects.filter(organization=other_organization).count() == 0


def test_a_replayed_request_returns_the_first_payout(organization, api_client):
    available_funds(organization)
    bank_account(organization)
    first = api_client.post("/v1/payouts/", {}, format="json", HTTP_IDEMPOTENCY_KEY="payout-1")
    second = api_client.post("/v1/payouts/", {}, format="json", HTTP_IDEMPOTENCY_KEY="payout-1")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] == second.json()["id"]
    assert Payout.objects.count() == 1
    assert LedgerTransaction.objects.filter(kind="payout_requested").count() == 1


def test_bad_input_is_a_422(organization, api_client):
    bank_account(organization)
    response = api_client.post("/v1/payouts/", {"currency": "dollars"}, format="json")
    assert response.status_code == 422
    assert api_client.get("/v1/payouts/", {"status": "lost"}).status_code == 422


def test_a_payout_travels_to_succeeded_and_is_posted_once(organization, api_client):
    available_funds(organization)
    bank_account(organization)
    payout = payout_create(organization=organization)
    now = clock.now()
    assert payouts_process(now=now) == {"sent": 1, "succeeded": 0, "failed": 0}
    payout.refresh_from_db()
    assert (payout.status, payout.processor_ref) == ("in_transit", f"po_sandbox_{payout.id.hex}")
    assert payouts_process(now=now + TRANSIT_TIME - dt.timedelta(seconds=1)) == {"sent": 0, "succeeded": 0, "failed": 0}
    assert payouts_process(now=now + TRANSIT_TIME) == {"sent": 0, "succeeded": 1, "failed": 0}
    assert payouts_process(now=now + TRANSIT_TIME * 2) == {"sent": 0, "succeeded": 0, "failed": 0}
    payout.refresh_from_db()
    assert payout.status == "succeeded" and payout.paid_at is not None
    assert _balances(organization) == {"pending": 0, "available": 0, "reserve": 0, "in_transit": 0, "debt": 0}
    assert LedgerTransaction.objects.filter(source_id=payout.id).count() == 2
    body = api_client.get(f"/v1/payouts/{payout.id}").json()
    assert body["status"] == "succeeded" and body["attempts"][0]["status"] == "succeeded"
    lines = api_client.get("/v1/transactions/", {"type": "payout"}).json()["items"]
    assert sorted((line["account"], line["amount"]) for line in lines) == [
        ("available", -1880),
        ("in_transit", -1880),
        ("in_transit", 1880),
    ]
    assert ledger_breaches() == 0


def test_a_failed_payout_returns_the_money(organization, api_client):
    available_funds(organization)
    bank_account(organization, number=FAILING_ACCOUNT)
    payout = payout_create(organization=organization)
    now = clock.now()
    payouts_process(now=now)
    assert payouts_process(now=now + TRANSIT_TIME)["failed"] == 1
    payout.refresh_from_db()
    assert (payout.status, payout.failure_code) == ("failed", "no_account")
    assert _balances(organization) == {"pending": 0, "available": 1880, "reserve": 0, "in_transit": 0, "debt": 0}
    reversal = api_client.get("/v1/transactions/", {"type": "payout_reversal"}).json()["items"]
    assert sorted((line["account"], line["amount"]) for line in reversal) == [("available", 1880), ("in_transit", -1880)]
    assert ledger_breaches() == 0


def test_weekly_payouts_once_per_week_when_turned_on(organization, other_organization):
    monday = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    with clock.freeze(monday):
        available_funds(organization)
        available_funds(other_organization)
        bank_account(organization)
        bank_account(other_organization)  # auto payouts off
        assert payouts_weekly(now=monday) == 0
        payout_account_settings_update(organization=organization, auto_payouts=True)
        assert payouts_weekly(now=monday) == 1
        assert payouts_weekly(now=monday) == 0  # the same ISO week: found by its trigger key
        available_funds(organization)
    assert payouts_weekly(now=monday + dt.timedelta(days=6)) == 0  # Sunday: still that week
    assert payouts_weekly(now=monday + dt.timedelta(days=7)) == 1  # next Monday: the new funds
    assert list(Payout.objects.filter(organization=organization).values_list("amount", flat=True)) == [1880, 1880]
    assert not Payout.objects.filter(organization=other_organization).exists()
    # Frozen: no automatic payout either.
    with clock.freeze(monday + dt.timedelta(days=7)):
        available_funds(organization)
    payout_freeze(organization=organization, reason="review")
    assert payouts_weekly(now=monday + dt.timedelta(days=14)) == 0


def test_run_billing_runs_the_payout_steps(organization):
    from billing.scheduler import billing_run

    available_funds(organization)
    bank_account(organization)
    payout_account_settings_update(organization=organization, auto_payouts=True)
    now = clock.now()
    assert billing_run(now=now)["payouts"] == {"weekly": 1, "sent": 1, "succeeded": 0, "failed": 0}
    assert billing_run(now=now + TRANSIT_TIME)["payouts"]["succeeded"] == 1
    assert ledger_breaches() == 0


def test_two_organizations_payouts_do_not_mix():
    first, second = OrganizationFactory(slug="first"), OrganizationFactory(slug="second")
    available_funds(first)
    available_funds(second, amount=3000)
    bank_account(first)
    bank_account(second)
    assert payout_create(organization=first).amount == 1880
    assert payout_create(organization=second).amount == 3000 - 160


def test_payout_gauges(organization, other_organization):
    from payouts.metrics import payouts_state

    def gauges():
        return {(f.name, tuple(s.labels.values())): s.value for f in payouts_state() for s in f.samples}

    assert gauges()[("polar_payouts_failed_last_day", ())] == 0
    available_funds(organization)
    bank_account(organization, number=FAILING_ACCOUNT)
    payout_create(organization=organization)
    payout_freeze(organization=other_organization, reason="review")
    values = gauges()
    assert values[("polar_payouts_in_transit", ("usd",))] == 1
    assert values[("polar_payouts_in_transit_amount", ("usd",))] == 1880
    assert values[("polar_payouts_frozen_organizations", ())] == 1
    now = clock.now()
    payouts_process(now=now)
    with clock.freeze(now + TRANSIT_TIME):
        payouts_process(now=now + TRANSIT_TIME)
        values = gauges()
    assert values[("polar_payouts_failed_last_day", ())] == 1
    assert ("polar_payouts_in_transit", ("usd",)) not in values
