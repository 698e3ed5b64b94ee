"""Concurrent payout requests of one organization on real PostgreSQL: the payout account lock and the
funds lock let exactly one take the balance; the others see what it left (InsufficientBalance)."""

import threading

import pytest
from django.db import connections

from payouts.checks import ledger_breaches
from payouts.models import Payout
from payouts.selectors import merchant_balances
from payouts.services import InsufficientBalance, payout_create
from tests.factories import OrganizationFactory

from .conftest import available_funds, bank_account

pytestmark = pytest.mark.django_db(transaction=True)


def test_only_one_of_concurrent_payouts_succeeds_when_the_balance_covers_one():
    organization = OrganizationFactory(slug="payout-race")
    available_funds(organization)  # 1880 available: one payout
    bank_account(organization)
    outcomes = []
    barrier = threading.Barrier(6)

    def attempt():
        try:
            barrier.wait()
            outcomes.append(payout_create(organization=organization).amount)
        except InsufficientBalance as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes, key=str) == [1880] + ["InsufficientBalance"] * 5
    assert Payout.objects.count() == 1
    balances = merchant_balances(organization_id=organization.id)["usd"]
    assert (balances["available"], balances["in_transit"]) == (0, 1880)
    assert ledger_breaches() == 0
