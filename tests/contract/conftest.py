"""The SDK contract-test harness: a live server, a merchant with a token, and both polar-sdk versions.

- polar-sdk 0.32.x is installed in our venv (module ``polar_sdk``) and runs in this process.
- polar-sdk 1.0.x cannot be (its module ``polar`` is our package's name): the first run builds a
  venv with it under ``.data/sdk-<version>/`` (re-used afterwards, rebuilt if the version changes)
  and ``sdk10`` runs a whole scenario in one subprocess through ``sdk10_driver.py``.
  ``POLAR_SDK10_PYTHON=/path/to/python`` uses an existing interpreter instead (dev speed).

See tests/contract/README.md for adding a resource.
"""

import pytest

from polar.organizations.services import access_token_create
from tests.factories import OrganizationFactory

from .harness import SDK10_API_VERSIONS, Sdk10, sdk10_python


@pytest.fixture(scope="session", autouse=True)
def _live_server_closes_connections():
    """The live server answers each request in a new thread; with persistent connections
    (CONN_MAX_AGE) those threads would keep sessions open on the test database and stop its
    teardown. Closing them at the end of each request keeps the database droppable."""
    from django.db import connections

    settings_dict = connections.settings["default"]
    previous = settings_dict.get("CONN_MAX_AGE", 0)
    settings_dict["CONN_MAX_AGE"] = 0
    yield
    settings_dict["CONN_MAX_AGE"] = previous


@pytest.fixture(scope="session")
def sdk10_interpreter():
    return sdk10_python()


def _drop_events(organization):
    """Events live in an unmanaged (partitioned) table that the transactional flush leaves alone: a contract
    test's events would otherwise outlast it in a reused database."""
    from billing.models import Event

    Event.objects.filter(organization_id=organization.id).delete()


@pytest.fixture
def contract_organization(transactional_db):
    organization = OrganizationFactory(slug="contract-acme", name="Contract Acme")
    yield organization
    _drop_events(organization)


@pytest.fixture
def contract_token(contract_organization):
    _row, raw = access_token_create(organization=contract_organization, comment="contract tests")
    return raw


@pytest.fixture
def contract_other_organization(transactional_db):
    organization = OrganizationFactory(slug="contract-globex", name="Contract Globex")
    yield organization
    _drop_events(organization)


@pytest.fixture
def contract_other_token(contract_other_organization):
    _row, raw = access_token_create(organization=contract_other_organization, comment="contract tests")
    return raw


@pytest.fixture
def sdk032(live_server, contract_token):
    """polar-sdk 0.32.x, in process, authenticated as ``contract_organization``."""
    from polar_sdk import Polar

    return Polar(access_token=contract_token, server_url=live_server.url)


@pytest.fixture
def sdk032_other(live_server, contract_other_token):
    from polar_sdk import Polar

    return Polar(access_token=contract_other_token, server_url=live_server.url)


@pytest.fixture(params=SDK10_API_VERSIONS)
def sdk10(request, live_server, contract_token, sdk10_interpreter):
    """polar-sdk 1.0.x in its own venv, authenticated as ``contract_organization``, through each of its
    three version clients (``polar.v2026_04``, ``v2026_10``, ``v2027_01``; ``sdk10.version`` says which)."""
    return Sdk10(sdk10_interpreter, live_server.url, contract_token, request.param)
