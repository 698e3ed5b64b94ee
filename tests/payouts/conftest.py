import datetime as dt

import pytest

from payouts.postings import HOLDING_PERIOD, payments_release_due
from payouts.services import payout_account_upsert
from polar import clock
from tests.billing.refunds.conftest import paid_order

GOOD_ACCOUNT = "000123456789"
FAILING_ACCOUNT = "000111111116"  # the sandbox payout processor fails it: no_account


def available_funds(organization, amount=2000):
    """A paid order of ``amount`` whose funds are released: available = amount - (4 % + 40)."""
    order = paid_order(organization, amount=amount)
    payments_release_due(now=clock.now() + HOLDING_PERIOD + dt.timedelta(seconds=1))
    return order


def bank_account(organization, *, number=GOOD_ACCOUNT, verified=True):
    return payout_account_upsert(
        organization=organization,
        account_holder_name=organization.name,
        account_number=number,
        routing_number="110000000",
        bank_name="Sandbox Bank",
        verified=verified,
    )


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
