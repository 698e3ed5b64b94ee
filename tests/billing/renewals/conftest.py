"""Renewal fixtures: a product with a fixed and a metered price, a customer with pm_card_visa, events."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from billing.catalog.services import product_create
from billing.models import Meter, SandboxSettings
from billing.subscriptions.lifecycle import subscription_create
from billing.usage.services import events_ingest
from polar import clock
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card

# Anchor on the 31st: periods Jan 31 → Feb 28 → Mar 31 → Apr 30 → May 31 (12:00 UTC).
T0 = dt.datetime(2026, 1, 31, 12, 0, tzinfo=dt.UTC)
_event_ids = itertools.count()


@pytest.fixture(autouse=True)
def sandbox_normal(db, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})


def make_meter(organization, name="API calls", event_name="api_call") -> Meter:
    return Meter.objects.create(
        organization=organization,
        name=name,
        filter={"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": event_name}]},
        aggregation={"func": "count"},
    )


def metered_product(
    organization, meter, *, name="API plan", amount=1000, unit_amount="0.5", cap_amount=None, interval="month", count=1
):
    metered = {"amount_type": "metered_unit", "price_currency": "usd", "meter_id": str(meter.id), "unit_amount": unit_amount}
    if cap_amount is not None:
        metered["cap_amount"] = cap_amount
    prices = [{"amount_type": "fixed", "price_amount": amount, "price_currency": "usd"}, metered]
    return product_create(
        organization=organization, name=name, recurring_interval=interval, recurring_interval_count=count, prices=prices
    )


def ingest(organization, customer, at: dt.datetime, n: int, name="api_call", received: dt.datetime | None = None):
    """``n`` events that happened at ``at``, ingested at ``received`` (default: just after they happened)."""
    with clock.freeze(received or at + dt.timedelta(seconds=1)):
        events = [
            {"name": name, "customer_id": str(customer.id), "timestamp": at.isoformat(), "external_id": f"e{next(_event_ids)}"}
            for _ in range(n)
        ]
        for start in range(0, n, 1000):
            events_ingest(organization=organization, events=events[start : start + 1000])


def subscribe(organization, customer, product, at=T0, **kwargs):
    with clock.freeze(at):
        return subscription_create(organization=organization, customer=customer, product=product, **kwargs)


@pytest.fixture
def meter(organization):
    return make_meter(organization)


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, email="ada@example.com")


@pytest.fixture
def card(customer):
    return attach_card(customer, "pm_card_visa")


@pytest.fixture
def product(organization, meter):
    return metered_product(organization, meter)


@pytest.fixture
def subscription(organization, customer, card, product):
    return subscribe(organization, customer, product)


D = Decimal
