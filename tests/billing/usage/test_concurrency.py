"""Two ingests racing on PostgreSQL with overlapping external ids: each id stored once, counts add up."""

import threading

import pytest
from django.db import connection

from billing.models import Event, EventExternalId
from billing.usage.services import events_ingest
from polar.organizations.models import Organization
from tests.factories import CustomerFactory, OrganizationFactory


@pytest.fixture
def clean_events():
    """The events tables are unmanaged, so Django's flush between transactional tests skips them."""
    yield
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE billing_event, billing_event_external_id")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_events")
def test_concurrent_ingests_with_overlapping_ids_store_each_id_once():
    organization = OrganizationFactory(slug="race")
    customer = CustomerFactory(organization=organization)
    # 0..599 and 400..999: 200 ids in both batches.
    batches = [
        [{"name": "x", "customer_id": str(customer.id), "external_id": f"e{i}"} for i in range(0, 600)],
        [{"name": "x", "customer_id": str(customer.id), "external_id": f"e{i}"} for i in range(400, 1000)],
    ]
    barrier = threading.Barrier(2)
    results, errors = [None, None], []

    def run(index):
        try:
            org = Organization.objects.get(pk=organization.pk)
            barrier.wait()
            for _round in range(3):  # repeat so the race is exercised more than once
                result = events_ingest(organization=org, events=batches[index])
                results[index] = (results[index] or []) + [result]
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Event.objects.filter(organization=organization).count() == 1000
    assert EventExternalId.objects.filter(organization=organization).count() == 1000
    for batch_results in results:
        assert all(result["inserted"] + result["duplicates"] == 600 for result in batch_results)
    assert sum(result["inserted"] for batch_results in results for result in batch_results) == 1000
