import datetime as dt

import pytest

from polar import clock
from tests.factories import CustomerFactory

NOW = dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen_now():
    with clock.freeze(NOW):
        yield NOW


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, external_id="cust-1")


@pytest.fixture
def other_customer(other_organization):
    return CustomerFactory(organization=other_organization, external_id="cust-1")


def ingest(client, events):
    return client.post("/v1/events/ingest", {"events": events}, format="json")
