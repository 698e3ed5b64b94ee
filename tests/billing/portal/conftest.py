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
