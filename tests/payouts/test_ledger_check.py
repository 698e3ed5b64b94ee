"""``manage.py ledger_check``: clean ledger -> exit 0; each kind of breach -> exit 1 with a report; the nightly
task keeps the count that the ``polar_ledger_breaches`` gauge reads at scrape time."""

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from billing.payments.services import payment_charge
from billing.refunds.services import refund_create
from payouts.checks import CACHE_KEY, ledger_breaches
from payouts.ledger import Line, ledger_post, merchant_account_key
from payouts.metrics import ledger_state
from payouts.tasks import ledger_check
from tests.billing.refunds.conftest import paid_order
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    cache.delete(CACHE_KEY)
    yield
    cache.delete(CACHE_KEY)


def _run(capsys):
    try:
        call_command("ledger_check")
    except CommandError as error:
        return 1, capsys.readouterr().out, str(error)
    return 0, capsys.readouterr().out, ""


def _gauge():
    return {family.name: family.samples[0].value for family in ledger_state()}["polar_ledger_breaches"]


def test_a_clean_ledger_passes(organization, capsys):
    order = paid_order(organization)
    refund_create(organization=organization, order_id=order.id, amount=500, reason="other")
    code, out, _ = _run(capsys)
    assert code == 0, out
    assert "0 breach(es)" in out
    assert ledger_breaches() == 0
    assert _gauge() == 0


def test_a_payment_changed_behind_the_ledgers_back_is_reported(organization, capsys):
    order = paid_order(organization)
    with connection.cursor() as cursor:  # billing_payment is not guarded by the ledger's triggers
        cursor.execute("UPDATE billing_payment SET amount = amount + 1 WHERE order_id = %s RETURNING id", [order.id])
        (payment_id,) = cursor.fetchone()
    code, out, error = _run(capsys)
    assert code == 1
    assert f"payment_mismatch: {payment_id} 2001 usd 2000" in out
    assert "1 breach(es)" in out and "1 ledger breach(es)" in error


def test_an_unposted_succeeded_payment_and_a_posting_without_its_payment_are_reported(organization, capsys):
    customer = CustomerFactory(organization=organization)
    declined = payment_charge(
        customer=customer,
        payment_method=attach_card(customer, token="pm_card_chargeCustomerFail"),
        amount=1000,
        currency="usd",
        idempotency_key="t:declined",
    )
    paid = paid_order(organization)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_payment SET status = 'succeeded' WHERE id = %s", [declined.id])
        cursor.execute("UPDATE billing_payment SET status = 'failed' WHERE order_id = %s", [paid.id])
    assert ledger_breaches() == 2
    code, out, _ = _run(capsys)
    assert code == 1
    assert f"payment_unposted: {declined.id} 1000 usd" in out
    assert "payment_extra: payment:" in out


def test_a_negative_available_balance_is_reported_and_counted_by_the_nightly_task(organization, capsys):
    ledger_post(
        idempotency_key="adjust:1",
        kind="adjustment",
        organization_id=organization.id,
        lines=[
            Line(merchant_account_key(organization.id, "merchant_available"), 500, "usd"),
            Line("processor:sandbox:clearing", -500, "usd"),
        ],
    )
    assert ledger_check() == 1
    assert _gauge() == 1
    code, out, _ = _run(capsys)
    assert code == 1
    assert f"negative_available: merchant:{organization.id}:available usd -500" in out


def test_a_payout_or_dispute_changed_behind_the_ledgers_back_is_reported(organization, capsys):
    from billing.disputes.services import dispute_open
    from billing.models import Dispute, Payment
    from payouts.models import Payout
    from payouts.services import payout_create
    from tests.payouts.conftest import available_funds, bank_account

    available_funds(organization, amount=3000)
    bank_account(organization)
    payout = payout_create(organization=organization)
    order = paid_order(organization)
    dispute = dispute_open(
        payment=Payment.objects.get(order=order),
        processor_dispute_ref="dp_1",
        amount=2000,
        reason=None,
        opened_at=order.created_at,
    )
    assert ledger_breaches() == 0
    # Marked succeeded without its paid posting; a dispute marked won without its closing.
    Payout.objects.filter(pk=payout.pk).update(status="succeeded")
    Dispute.objects.filter(pk=dispute.pk).update(status="won")
    code, out, _ = _run(capsys)
    assert code == 1
    assert f"payout_unposted: {payout.id} succeeded" in out
    assert f"dispute_unposted: {dispute.id} won" in out
    # A payout posting with no payout behind it, and a dispute's amount changed.
    Payout.objects.filter(pk=payout.pk).update(status="pending")
    Dispute.objects.filter(pk=dispute.pk).update(status="needs_response", amount=1999)
    ledger_post(
        idempotency_key="payout:00000000-0000-0000-0000-000000000001:paid",
        kind="payout_paid",
        organization_id=organization.id,
        lines=[Line(f"payouts:{organization.id}:in_transit", 5, "usd"), Line("processor:sandbox:clearing", -5, "usd")],
    )
    code, out, _ = _run(capsys)
    assert "payout_extra: payout:00000000-0000-0000-0000-000000000001:paid payout_paid" in out
    assert f"dispute_mismatch: {dispute.id} 1999 2000" in out
    # The disputed payment's pending funds are all in the reserve: 10 more taken leaves pending at -10.
    ledger_post(
        idempotency_key="adjust:1",
        kind="adjustment",
        organization_id=organization.id,
        lines=[Line(merchant_account_key(organization.id, "merchant_pending"), 10, "usd"), Line("platform:fees", -10, "usd")],
    )
    assert f"negative_balance: merchant:{organization.id}:pending usd -10" in _run(capsys)[1]


def test_entries_of_a_payout_cannot_be_changed_or_deleted_in_sql(organization):
    from django.db import DatabaseError, transaction

    from payouts.models import LedgerEntry
    from payouts.services import payout_create
    from tests.payouts.conftest import available_funds, bank_account

    available_funds(organization)
    bank_account(organization)
    payout = payout_create(organization=organization)
    entry_id = LedgerEntry.objects.filter(transaction__source_id=payout.id).values_list("id", flat=True).first()
    for sql in [
        "UPDATE payouts_ledgerentry SET amount = amount + 1 WHERE id = %s",
        "DELETE FROM payouts_ledgerentry WHERE id = %s",
    ]:
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry_id])
