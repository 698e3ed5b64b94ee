"""A customer of organization A with a customer session, and a client authenticated by it; a second
customer (same organization) for isolation checks."""

import pytest
from rest_framework.test import APIClient

from billing.portal.sessions import customer_session_create
from tests.factories import CustomerFactory


def portal_client(raw_token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
    return client


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, email="jane@example.com", name="Jane")


@pytest.fixture
def other_customer(organization):
    return CustomerFactory(organization=organization, email="bob@example.com", name="Bob")


@pytest.fixture
def session_token(customer):
    _session, raw = customer_session_create(customer=customer)
    return raw


@pytest.fixture
def portal(session_token):
    """A client authenticated as ``customer`` through a customer session."""
    return portal_client(session_token)


@pytest.fixture
def other_portal(other_customer):
    _session, raw = customer_session_create(customer=other_customer)
    return portal_client(raw)


@pytest.fixture(autouse=True)
def sandbox_normal(db, settings):
    from billing.models import SandboxSettings

    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})


def subscribe(customer, product, *, card=None, at=None):
    """An active subscription of ``customer`` to ``product``, paid with ``card`` (visa by default)."""
    from billing.subscriptions.lifecycle import subscription_create
    from polar import clock
    from tests.factories.payments import attach_card

    card = card or attach_card(customer, "pm_card_visa")
    with clock.freeze(at or clock.now()):
        return subscription_create(organization=customer.organization, customer=customer, product=product, payment_method=card)
