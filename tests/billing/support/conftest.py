"""The support pages' world: Acme's customer Ada (external id ``ada-1``) subscribed on Jan 31 to Pro (20.00 a
month, one benefit) with a good card; her card then fails, so the Feb 28 renewal is past due with an open
dunning case and a ``card_declined`` attempt. Globex has a customer of its own. Staff members are made as
the ``staff_access`` command makes them (tests/factories/staff.py)."""

import datetime as dt
import uuid

import pytest
from django.core.management import call_command
from django.test import Client

from billing.catalog.services import product_benefits_set
from billing.models import Order, OrderBillingReason, SandboxSettings
from billing.subscriptions.lifecycle import subscription_create
from polar import clock
from tests.factories import CustomerFactory
from tests.factories.catalog import fixed_price, make_benefit, make_product
from tests.factories.payments import attach_card
from tests.factories.staff import make_staff, make_superuser

T0 = dt.datetime(2026, 1, 31, 12, 0, tzinfo=dt.UTC)
RENEWAL = dt.datetime(2026, 2, 28, 12, 0, tzinfo=dt.UTC)
AFTER_RENEWAL = RENEWAL + dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def sandbox_normal(db, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})


@pytest.fixture
def product(organization):
    product = make_product(organization=organization, name="Pro", prices=[fixed_price(2000)], recurring_interval="month")
    product_benefits_set(product=product, benefits=[make_benefit(organization=organization, description="Priority support").id])
    return product


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, email="ada@example.com", name="Ada Lovelace", external_id="ada-1")


@pytest.fixture
def subscription(organization, customer, product):
    with clock.freeze(T0):
        attach_card(customer, "pm_card_visa")
        subscription = subscription_create(organization=organization, customer=customer, product=product)
        failing = attach_card(customer, "pm_card_chargeCustomerFail")
        subscription.payment_method = failing
        subscription.save(update_fields=["payment_method"])
    return subscription


@pytest.fixture
def first_order(subscription) -> Order:
    """The paid 20.00 order of Jan 31."""
    return Order.objects.get(subscription=subscription, billing_reason=OrderBillingReason.SUBSCRIPTION_CREATE)


@pytest.fixture
def past_due_order(subscription) -> Order:
    """The Feb 28 renewal, declined: pending, with an open dunning case."""
    call_command("run_billing", now=RENEWAL.isoformat())
    return Order.objects.get(subscription=subscription, billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE)


@pytest.fixture
def other_customer(other_organization):
    return CustomerFactory(organization=other_organization, email="bob@globex.example", external_id="bob-1")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def support_user(organization):
    return make_staff("support", organization, email="sam@staff.example")


@pytest.fixture
def support_client(support_user):
    return client_for(support_user)


@pytest.fixture
def superuser():
    return make_superuser()


def form(reason="Customer asked on the phone", **fields) -> dict:
    """An action form as the page posts it: a fresh one-time token and a reason."""
    return {"form_token": str(uuid.uuid4()), "reason": reason, **fields}
