import pytest

from billing.orders.services import order_charge
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card
from tests.factories.subscriptions import pending_order


def paid_order(organization, amount=2000):
    customer = CustomerFactory(organization=organization)
    method = attach_card(customer)
    order = pending_order(customer, amount=amount)
    payment = order_charge(order=order, payment_method=method)
    assert payment.status == "succeeded"
    order.refresh_from_db()
    assert order.status == "paid"
    return order


@pytest.fixture
def order(organization, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    return paid_order(organization)
