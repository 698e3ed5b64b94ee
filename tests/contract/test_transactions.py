"""``GET /v1/transactions/`` and ``/v1/transactions/summary``. Neither polar-sdk 0.32 nor 1.0.2 has a
transactions operation, so these drive the HTTP API directly and check Polar's Transaction keys."""

import datetime as dt

import pytest

from billing.refunds.services import refund_create
from payouts.postings import HOLDING_PERIOD, payments_release_due
from polar import clock
from tests.billing.refunds.conftest import paid_order

pytestmark = pytest.mark.django_db

TRANSACTION_KEYS = {
    "id", "created_at", "modified_at", "type", "processor", "currency", "amount", "account_currency",
    "account_amount", "tax_amount", "tax_country", "tax_state", "processor_fee_type", "balance_correlation_key",
    "pledge_id", "issue_reward_id", "order_id", "payout_transaction_id", "incurred_by_transaction_id",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""


def test_lines_and_summary_follow_payments_refunds_and_releases(organization, api_client, other_api_client):
    order = paid_order(organization)  # 2000 usd: merchant pending 1880 (platform fee 120)
    refund_create(organization=organization, order_id=order.id, amount=500, reason="other")  # -470 (fee 30 back)
    payments_release_due(now=clock.now() + HOLDING_PERIOD + dt.timedelta(seconds=1))  # 1410 to available

    body = api_client.get("/v1/transactions/").json()
    assert body["pagination"]["total_count"] == 4
    assert TRANSACTION_KEYS <= set(body["items"][0])
    lines = sorted((item["type"], item["account"], item["amount"]) for item in body["items"])
    assert lines == [
        ("balance", "available", 1410),
        ("balance", "pending", -1410),
        ("payment", "pending", 1880),
        ("refund", "pending", -470),
    ]
    payments = api_client.get("/v1/transactions/", {"type": "payment"}).json()
    assert [item["amount"] for item in payments["items"]] == [1880]

    summary = api_client.get("/v1/transactions/summary").json()
    assert summary["currencies"] == [
        {"currency": "usd", "balance": 1410, "pending": 0, "available": 1410, "reserve": 0, "in_transit": 0, "debt": 0}
    ]
    assert summary["balance"] == {"currency": "usd", "amount": 1410, "account_currency": "usd", "account_amount": 1410}

    # Another organization sees none of it.
    assert other_api_client.get("/v1/transactions/").json()["pagination"]["total_count"] == 0
    assert other_api_client.get("/v1/transactions/summary").json()["currencies"] == []


def test_unauthenticated_is_refused(anonymous_client):
    assert anonymous_client.get("/v1/transactions/").status_code == 401
