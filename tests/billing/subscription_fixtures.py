"""Fixtures shared by the checkout, order and subscription tests (each of their conftest.py star-imports this)."""

import datetime as dt

import pytest

from billing.models import SandboxSettings
from polar import clock
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card
from tests.factories.subscriptions import custom_benefit, monthly_product

T0 = dt.datetime(2026, 1, 31, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def sandbox_normal(db, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})


@pytest.fixture
def frozen():
    with clock.freeze(T0):
        yield T0


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, email="ada@example.com")


@pytest.fixture
def card(customer):
    return attach_card(customer, "pm_card_visa")


@pytest.fixture
def declining_card(customer):
    return attach_card(customer, "pm_card_chargeCustomerFail", set_default=False)


@pytest.fixture
def benefit(organization):
    return custom_benefit(organization)


@pytest.fixture
def product(organization, benefit):
    return monthly_product(organization, name="Pro", amount=1000, benefits=[benefit])


@pytest.fixture
def premium(organization):
    return monthly_product(organization, name="Premium", amount=3000)
