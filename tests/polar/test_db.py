"""polar.db: the bulk helpers of the batch paths, on real PostgreSQL."""

import datetime as dt

import pytest

from billing.models import Meter
from polar.db import bulk_update_rows, values_insert

pytestmark = pytest.mark.django_db


def _meters(organization, n, prefix):
    return [
        Meter(
            organization=organization,
            name=f"{prefix} {i}",
            filter={"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": f'e"{i}\\'}]},
            aggregation={"func": "count"},
        )
        for i in range(n)
    ]


def test_values_insert_writes_the_same_rows_as_the_default_bulk_insert(organization):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as default:
        Meter.objects.bulk_create(_meters(organization, 3, "unnest"))
    with CaptureQueriesContext(connection) as values, values_insert():
        Meter.objects.bulk_create(_meters(organization, 3, "values"))
    # The switch does what it says (and notices if a Django upgrade changes the insert compiler).
    assert "UNNEST" in default.captured_queries[-1]["sql"]
    assert "UNNEST" not in values.captured_queries[-1]["sql"] and "VALUES" in values.captured_queries[-1]["sql"]
    rows = {m.name: m.filter for m in Meter.objects.filter(organization=organization)}
    for i in range(3):
        assert (
            rows[f"unnest {i}"]
            == rows[f"values {i}"]
            == {"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": f'e"{i}\\'}]}
        )


def test_bulk_update_rows_writes_only_the_named_fields_of_each_row(organization):
    meters = Meter.objects.bulk_create(_meters(organization, 3, "m"))
    when = dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
    for i, meter in enumerate(meters):
        meter.name = f"renamed {i}"  # changed in memory but not written
        meter.aggregation = {"func": "sum", "property": f"p{i}"}
        meter.modified_at = when + dt.timedelta(seconds=i) if i else None
    assert bulk_update_rows(meters, ["aggregation", "modified_at"]) == 3
    fresh = {m.id: m for m in Meter.objects.filter(pk__in=[m.id for m in meters])}
    for i, meter in enumerate(meters):
        row = fresh[meter.id]
        assert row.name == f"m {i}"
        assert row.aggregation == {"func": "sum", "property": f"p{i}"}
        assert row.modified_at == (when + dt.timedelta(seconds=i) if i else None)
    assert bulk_update_rows([], ["name"]) == 0
