import pytest

from tests.billing.refunds.conftest import paid_order


@pytest.fixture
def order(organization, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    return paid_order(organization, amount=2000)
