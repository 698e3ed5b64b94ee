"""Fixtures shared by the whole suite: two merchants with tokens, and API clients for each.

Organization B exists in every API test so that tenant isolation can be checked anywhere.
"""

import pytest
from rest_framework.test import APIClient

from polar.organizations.services import access_token_create
from tests.factories import OrganizationFactory


@pytest.fixture
def organization(db):
    return OrganizationFactory(slug="acme", name="Acme")


@pytest.fixture
def other_organization(db):
    return OrganizationFactory(slug="globex", name="Globex")


@pytest.fixture
def token(organization):
    _row, raw = access_token_create(organization=organization, comment="tests")
    return raw


@pytest.fixture
def other_token(other_organization):
    _row, raw = access_token_create(organization=other_organization, comment="tests")
    return raw


def _client(raw_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
    return client


@pytest.fixture
def api_client(token):
    """An API client authenticated as organization A (``organization``)."""
    return _client(token)


@pytest.fixture
def other_api_client(other_token):
    """An API client authenticated as organization B (``other_organization``)."""
    return _client(other_token)


@pytest.fixture
def anonymous_client():
    return APIClient()
