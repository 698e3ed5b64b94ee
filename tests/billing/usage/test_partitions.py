import datetime as dt

from billing.tasks import events_partitions_ensure
from billing.usage import partitions as usage_partitions
from billing.usage.partitions import partition_names
from polar import clock

from .conftest import ingest


def test_beat_task_keeps_three_months_ahead(db):
    with clock.freeze(dt.datetime(2027, 11, 20, tzinfo=dt.UTC)):
        names = events_partitions_ensure()
    assert names == ["billing_event_p202711", "billing_event_p202712", "billing_event_p202801", "billing_event_p202802"]
    assert set(names) <= set(partition_names())
    # Idempotent: a second run creates nothing new and fails on nothing.
    with clock.freeze(dt.datetime(2027, 11, 21, tzinfo=dt.UTC)):
        assert events_partitions_ensure() == names


def test_a_stale_partition_cache_is_repaired_on_insert(api_client, customer, frozen_now):
    # The process believes February exists (e.g. it was created in a transaction that rolled back).
    usage_partitions._known_months.add((2026, 2))
    try:
        response = ingest(api_client, [{"name": "x", "customer_id": str(customer.id), "timestamp": "2026-02-10T00:00:00Z"}])
    finally:
        usage_partitions.forget_partitions()
    assert response.json() == {"inserted": 1, "duplicates": 0}
    assert "billing_event_p202602" in partition_names()


def test_partition_boundaries_are_utc_months(api_client, customer, frozen_now):
    ingest(
        api_client,
        [
            {"name": "x", "customer_id": str(customer.id), "timestamp": "2026-04-30T23:59:59.999999Z"},
            {"name": "x", "customer_id": str(customer.id), "timestamp": "2026-05-01T00:00:00Z"},
        ],
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute('SELECT tableoid::regclass::text FROM billing_event ORDER BY "timestamp"')
        assert [row[0] for row in cursor.fetchall()] == ["billing_event_p202604", "billing_event_p202605"]
