"""Dunning fixtures: a 20.00/month product with one benefit, a customer whose subscription started on
Jan 31 with pm_card_visa and whose default card is then replaced by a failing one before the Feb 28
renewal. Time travels with ``run_billing --now`` (as tests/billing/renewals)."""

import datetime as dt

import pytest
from django.core.management import call_command

from billing.catalog.services import product_benefits_set
from billing.models import BenefitGrant, Payment, SandboxSettings, Subscription
from billing.subscriptions.lifecycle import subscription_create
from polar import clock
from polar.webhooks.models import WebhookEvent
from tests.factories import CustomerFactory
from tests.factories.catalog import fixed_price, make_benefit, make_product
from tests.factories.payments import attach_card

T0 = dt.datetime(2026, 1, 31, 12, 0, tzinfo=dt.UTC)
RENEWAL = dt.datetime(2026, 2, 28, 12, 0, tzinfo=dt.UTC)
# The default schedule: 2, 5, 7, 7 days after the previous attempt; the last slot is the deadline.
SLOTS = [RENEWAL + dt.timedelta(days=d) for d in (2, 7, 14, 21)]
DEADLINE = SLOTS[-1]
HOUR = dt.timedelta(hours=1)


def run_billing(now: dt.datetime):
    call_command("run_billing", now=now.isoformat())


@pytest.fixture(autouse=True)
def sandbox_normal(db, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})


@pytest.fixture
def product(organization):
    product = make_product(organization=organization, name="Pro", prices=[fixed_price(2000)], recurring_interval="month")
    benefit = make_benefit(organization=organization, description="Priority support")
    product_benefits_set(product=product, benefits=[benefit.id])
    return product


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, email="ada@example.com", name="Ada")


def subscribe(organization, customer, product, token="pm_card_chargeCustomerFail") -> Subscription:
    """Subscribed on Jan 31 with pm_card_visa; then ``token`` becomes the card the renewal charges."""
    with clock.freeze(T0):
        attach_card(customer, "pm_card_visa")
        subscription = subscription_create(organization=organization, customer=customer, product=product)
        if token is not None:
            # The card on file changes before the renewal: the customer's default and the subscription's.
            card = attach_card(customer, token)
            subscription.payment_method = card
            subscription.save(update_fields=["payment_method"])
    return subscription


@pytest.fixture
def subscription(organization, customer, product):
    return subscribe(organization, customer, product)


def payments(order):
    return list(Payment.objects.filter(order=order).order_by("created_at", "idempotency_key"))


def active_grants(subscription):
    return BenefitGrant.objects.filter(subscription_id=subscription.id, revoked_at__isnull=True, granted_at__isnull=False).count()


def events(organization, type_):
    return WebhookEvent.objects.filter(organization=organization, type=type_).count()
