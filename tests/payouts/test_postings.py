"""Payments post to the ledger with their outcome (single and batch paths); funds are released after
the holding period. Amounts: a 2000 usd charge has the sandbox fee 88 (2.9 % + 30) and the platform
fee 120 (4 % + 40)."""

import datetime as dt
import uuid

import pytest

from billing.models import Payment
from billing.payments.services import ChargeRequest, payment_charge, payments_charge_many
from billing.scheduler import billing_run
from payouts.ledger import merchant_account_key
from payouts.models import LedgerTransaction
from payouts.postings import HOLDING_PERIOD, payments_release_due, platform_fee
from payouts.selectors import account_balance, merchant_balances
from polar import clock
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card

pytestmark = pytest.mark.django_db


def _charge(customer, method, amount=2000, key=None):
    return payment_charge(
        customer=customer, payment_method=method, amount=amount, currency="usd", idempotency_key=key or f"t:{uuid.uuid4()}"
    )


def test_platform_fee_is_four_percent_plus_forty_capped_at_the_payment():
    assert (platform_fee(2000), platform_fee(1000), platform_fee(30)) == (120, 80, 30)


def test_a_succeeded_charge_posts_gross_fees_and_the_merchants_pending_net(organization):
    customer = CustomerFactory(organization=organization)
    payment = _charge(customer, attach_card(customer))
    posted = LedgerTransaction.objects.get(idempotency_key=f"payment:{payment.id}")
    lines = sorted((e.account.key, e.amount) for e in posted.entries.select_related("account"))
    assert lines == sorted(
        [
            ("processor:sandbox:clearing", 2000),
            ("processor:sandbox:clearing", -88),
            ("processor:sandbox:fees", 88),
            ("platform:fees", -120),
            (merchant_account_key(organization.id, "merchant_pending"), -1880),
        ]
    )
    assert merchant_balances(organization_id=organization.id)["usd"]["pending"] == 1880
    assert (posted.kind, posted.source_id, posted.organization_id) == ("payment", payment.id, organization.id)


def test_a_replayed_charge_posts_once_and_a_declined_one_posts_nothing(organization):
    customer = CustomerFactory(organization=organization)
    method = attach_card(customer)
    _charge(customer, method, key="k:1")
    _charge(customer, method, key="k:1")
    declined = _charge(customer, attach_card(customer, token="pm_card_chargeCustomerFail"))
    assert declined.status == Payment.Status.FAILED
    assert LedgerTransaction.objects.filter(kind="payment").count() == 1


def test_the_batch_path_posts_each_succeeded_charge(organization):
    customers = [CustomerFactory(organization=organization) for _ in range(3)]
    methods = [attach_card(c) for c in customers[:2]] + [attach_card(customers[2], token="pm_card_chargeCustomerFail")]
    answers = payments_charge_many(
        [
            ChargeRequest(customer=c, payment_method=m, amount=2000, currency="usd", idempotency_key=f"b:{i}")
            for i, (c, m) in enumerate(zip(customers, methods))
        ]
    )
    assert [a.status for a in answers] == ["succeeded", "succeeded", "failed"]
    posted = LedgerTransaction.objects.filter(kind="payment")
    assert set(posted.values_list("source_id", flat=True)) == {answers[0].id, answers[1].id}
    assert merchant_balances(organization_id=organization.id)["usd"]["pending"] == 2 * 1880
    assert account_balance(key="processor:sandbox:clearing", currency="usd") == 2 * (2000 - 88)


def test_funds_are_released_after_the_holding_period_once(organization):
    customer = CustomerFactory(organization=organization)
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with clock.freeze(start):
        _charge(customer, attach_card(customer))
    assert payments_release_due(now=start + HOLDING_PERIOD - dt.timedelta(seconds=1)) == 0
    summary = billing_run(now=start + HOLDING_PERIOD)
    assert summary["ledger_release"] == 1
    assert payments_release_due(now=start + HOLDING_PERIOD + dt.timedelta(days=1)) == 0
    assert merchant_balances(organization_id=organization.id)["usd"] == {
        "pending": 0,
        "available": 1880,
        "reserve": 0,
        "in_transit": 0,
        "debt": 0,
    }
