"""``manage.py ledger_backfill``: payments and refunds that succeeded before the ledger existed are posted
once (dry run first, writing nothing), after which ``ledger_check`` is clean; a second run posts nothing."""

import uuid

import pytest
from django.core.management import call_command

from billing.models import Payment, Refund
from billing.refunds.services import refund_create
from payouts.checks import ledger_breaches_list
from payouts.models import LedgerTransaction
from payouts.selectors import merchant_balances
from tests.billing.refunds.conftest import paid_order

pytestmark = pytest.mark.django_db


def _legacy_copy(row, **changes):
    """The same row under a new id, written without going through the services: data from before the ledger."""
    row.pk = uuid.uuid4()
    for name, value in changes.items():
        setattr(row, name, value)
    row.save(force_insert=True)
    return row


def test_backfill_posts_what_was_paid_before_the_ledger_once(organization, capsys, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    order = paid_order(organization, amount=2000)
    original = refund_create(organization=organization, order_id=order.id, amount=500, reason="other")
    payment = _legacy_copy(Payment.objects.get(order=order), idempotency_key=f"legacy:{uuid.uuid4()}")
    refunds = [
        _legacy_copy(Refund.objects.get(pk=original.pk), payment=payment, amount=amount, processor_refund_ref=None)
        for amount in (300, 700)
    ]
    breaches = sorted(breach.invariant for breach in ledger_breaches_list())
    assert breaches == ["payment_unposted", "refund_unposted", "refund_unposted"]
    before = LedgerTransaction.objects.count()

    call_command("ledger_backfill", "--dry-run")
    assert "would post 1 payment(s) (2000 minor units) and 2 refund(s) (1000 minor units)" in capsys.readouterr().out
    assert LedgerTransaction.objects.count() == before

    call_command("ledger_backfill", "--batch-size", "1")
    assert "posted 1 payment(s)" in capsys.readouterr().out
    assert LedgerTransaction.objects.count() == before + 3
    assert ledger_breaches_list() == []
    # The second legacy refund returns the platform fee cumulatively: 1000 of 2000 refunded returns half of 120.
    fee_back = sum(
        amount
        for refund in refunds
        for amount in LedgerTransaction.objects.get(idempotency_key=f"refund:{refund.id}")
        .entries.filter(account__key="platform:fees")
        .values_list("amount", flat=True)
    )
    assert fee_back == 60
    assert merchant_balances(organization_id=organization.id)["usd"]["pending"] == (1880 - 470) + (1880 - 940)

    call_command("ledger_backfill")
    assert "posted 0 payment(s) (0 minor units) and 0 refund(s)" in capsys.readouterr().out
    assert LedgerTransaction.objects.count() == before + 3
