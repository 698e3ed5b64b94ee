"""The demo: after the simulated months of ``seed_demo_billing`` the demo organization's balance has been paid
out through its weekly payouts (at least one succeeded), and every money event is posted (ledger_check clean)."""

import pytest
from django.core.management import call_command

from payouts.checks import ledger_breaches_list
from payouts.models import Payout, PayoutAccount

pytestmark = pytest.mark.django_db


def test_the_demo_ends_with_payouts_paid_and_a_clean_ledger(capsys):
    call_command("seed_demo_billing")
    account = PayoutAccount.objects.get(organization__slug="demo")
    assert account.is_verified and account.auto_payouts
    statuses = list(Payout.objects.filter(organization__slug="demo").values_list("status", flat=True))
    assert "succeeded" in statuses, statuses
    assert "failed" not in statuses
    assert ledger_breaches_list() == []
    # Seeding again pays nothing twice.
    count = len(statuses)
    call_command("seed_demo_billing")
    assert Payout.objects.filter(organization__slug="demo").count() == count
    assert ledger_breaches_list() == []
