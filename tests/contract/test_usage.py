"""Usage-based billing through both SDKs: events ingested (with a repeated external_id), read back,
a meter with a filter clause and a sum aggregation, its daily quantities for events in the past,
and the customer meter that follows. Assertions are on the models the SDKs parsed."""

import datetime as dt

import pytest
from polar_sdk import models as m032

from tests.factories.customers import CustomerFactory
from tests.factories.usage import MeterFactory

from .harness import failed, ok, op

pytestmark = pytest.mark.contract

API_CALLS = {"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "api_call"}]}
TOKENS = {"func": "sum", "property": "tokens"}
# Days in the recent past (events may be at most 366 days old), so the buckets are exact whenever this runs.
DAY0 = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=10)
DAY1, DAY2 = DAY0 + dt.timedelta(days=1), DAY0 + dt.timedelta(days=2)
RANGE_END = DAY2.replace(hour=23, minute=59, second=59)
START, END = DAY0.isoformat().replace("+00:00", "Z"), RANGE_END.isoformat().replace("+00:00", "Z")
EXPECTED_BUCKETS = [(DAY0.date().isoformat(), 30), (DAY1.date().isoformat(), 5), (DAY2.date().isoformat(), 0)]
FUTURE = "2999-01-01T00:00:00Z"


def _at(day: dt.datetime, hour: int, minute: int = 0) -> str:
    return day.replace(hour=hour, minute=minute).isoformat().replace("+00:00", "Z")


def _events(external_customer_id: str) -> list[dict]:
    """Past events on DAY0 and DAY1: api_call tokens 10+20 on DAY0, 5 on DAY1; an upload (filtered out
    by the meter) on DAY1; and a second copy of the first one (same external_id)."""
    first = {
        "name": "api_call",
        "external_customer_id": external_customer_id,
        "external_id": "evt-1",
        "timestamp": _at(DAY0, 8),
        "metadata": {"tokens": 10},
    }
    return [
        first,
        {
            "name": "api_call",
            "external_customer_id": external_customer_id,
            "external_id": "evt-2",
            "timestamp": _at(DAY0, 20),
            "metadata": {"tokens": 20},
        },
        {
            "name": "api_call",
            "external_customer_id": external_customer_id,
            "external_id": "evt-3",
            "timestamp": _at(DAY1, 9, 30),
            "metadata": {"tokens": 5},
        },
        {
            "name": "upload",
            "external_customer_id": external_customer_id,
            "external_id": "evt-4",
            "timestamp": _at(DAY1, 10),
            "metadata": {"tokens": 1000},
        },
        dict(first),
    ]


def _day(value) -> str:
    """A bucket timestamp (datetime or ISO string) as its UTC date."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(dt.UTC).date().isoformat()


# --- 0.32.x ---------------------------------------------------------------------------------------


def test_032_events_ingest_list_get(sdk032, sdk032_other, contract_organization):
    customer = CustomerFactory(organization=contract_organization, external_id="ext-1")
    ingested = sdk032.events.ingest(request={"events": _events("ext-1")})
    assert isinstance(ingested, m032.EventsIngestResponse)
    assert (ingested.inserted, ingested.duplicates) == (4, 1)
    again = sdk032.events.ingest(request={"events": _events("ext-1")[:1]})
    assert (again.inserted, again.duplicates) == (0, 1)

    page = sdk032.events.list(name="api_call", external_customer_id="ext-1", sorting=["timestamp"])
    events = page.items  # 0.32's events.list is not paginated by the SDK: the page itself
    assert page.pagination.total_count == 3
    assert [e.metadata["tokens"] for e in events] == [10, 20, 5]
    first = events[0]
    assert isinstance(first, m032.UserEvent)
    assert first.name == "api_call" and first.SOURCE == "user"
    assert first.external_customer_id == "ext-1" and first.customer_id == str(customer.id)
    assert first.organization_id == str(contract_organization.id)
    assert first.timestamp == DAY0.replace(hour=8)

    fetched = sdk032.events.get(id=first.id)
    assert isinstance(fetched, m032.UserEvent)
    assert fetched.id == first.id and fetched.metadata == {"tokens": 10}
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.events.get(id=first.id)
    assert sdk032_other.events.list().pagination.total_count == 0


def test_032_meter_create_get_list_archive(sdk032, contract_organization):
    created = sdk032.meters.create(
        request={"name": "Tokens", "filter": API_CALLS, "aggregation": TOKENS, "metadata": {"team": "ml"}}
    )
    assert isinstance(created, m032.Meter)
    assert created.name == "Tokens" and created.organization_id == str(contract_organization.id)
    assert created.filter_.conjunction == "and"
    [clause] = created.filter_.clauses
    assert (clause.property, clause.operator, clause.value) == ("name", "eq", "api_call")
    assert isinstance(created.aggregation, m032.PropertyAggregation)
    assert (created.aggregation.func, created.aggregation.property) == ("sum", "tokens")
    assert created.metadata == {"team": "ml"} and created.archived_at is None

    fetched = sdk032.meters.get(id=created.id)
    assert fetched.id == created.id and fetched.aggregation.property == "tokens"

    listed = sdk032.meters.list().result
    assert [m.id for m in listed.items] == [created.id] and listed.pagination.total_count == 1

    archived = sdk032.meters.update(id=created.id, meter_update={"is_archived": True})
    assert archived.archived_at is not None
    assert sdk032.meters.list(is_archived=False).result.pagination.total_count == 0
    assert [m.id for m in sdk032.meters.list(is_archived=True).result.items] == [created.id]
    unarchived = sdk032.meters.update(id=created.id, meter_update={"is_archived": False, "name": "Tokens v2"})
    assert unarchived.archived_at is None and unarchived.name == "Tokens v2"


def test_032_meter_quantities_by_day(sdk032, contract_organization):
    customer = CustomerFactory(organization=contract_organization, external_id="ext-q")
    sdk032.events.ingest(request={"events": _events("ext-q")})
    meter = sdk032.meters.create(request={"name": "Tokens", "filter": API_CALLS, "aggregation": TOKENS})

    quantities = sdk032.meters.quantities(
        id=meter.id,
        start_timestamp=DAY0,
        end_timestamp=RANGE_END,
        interval=m032.TimeInterval.DAY,
        timezone="UTC",
    )
    assert isinstance(quantities, m032.MeterQuantities)
    assert [(_day(q.timestamp), q.quantity) for q in quantities.quantities] == EXPECTED_BUCKETS
    assert quantities.total == 35

    by_customer = sdk032.meters.quantities(
        id=meter.id,
        start_timestamp=DAY0,
        end_timestamp=RANGE_END,
        interval=m032.TimeInterval.DAY,
        timezone="UTC",
        customer_id=str(customer.id),
    )
    assert by_customer.total == 35
    nobody = sdk032.meters.quantities(
        id=meter.id,
        start_timestamp=DAY0,
        end_timestamp=RANGE_END,
        interval=m032.TimeInterval.DAY,
        timezone="UTC",
        external_customer_id="someone-else",
    )
    assert nobody.total == 0


def test_032_customer_meters_list_get(sdk032, sdk032_other, contract_organization):
    customer = CustomerFactory(organization=contract_organization, external_id="ext-cm")
    CustomerFactory(organization=contract_organization, external_id="ext-other")
    meter = sdk032.meters.create(request={"name": "Tokens", "filter": API_CALLS, "aggregation": TOKENS})
    # No timestamp: now, so inside the customer meter's current period.
    ingested = sdk032.events.ingest(
        request={
            "events": [
                {"name": "api_call", "external_customer_id": "ext-cm", "metadata": {"tokens": 7}},
                {"name": "api_call", "external_customer_id": "ext-cm", "metadata": {"tokens": 8}},
                {"name": "api_call", "external_customer_id": "ext-other", "metadata": {"tokens": 100}},
            ]
        }
    )
    assert ingested.inserted == 3

    page = sdk032.customer_meters.list(external_customer_id="ext-cm").result
    assert page.pagination.total_count == 1
    [row] = page.items
    assert isinstance(row, m032.CustomerMeter)
    assert row.customer_id == str(customer.id) and row.meter_id == meter.id
    assert (row.consumed_units, row.credited_units, row.balance) == (15, 0, -15)
    assert row.customer.external_id == "ext-cm" and row.meter.name == "Tokens"

    fetched = sdk032.customer_meters.get(id=row.id)
    assert fetched.id == row.id and fetched.consumed_units == 15
    assert sdk032.customer_meters.list().result.pagination.total_count == 2
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.customer_meters.get(id=row.id)
    assert sdk032_other.customer_meters.list().result.pagination.total_count == 0


def test_032_ingest_bad_timestamp_is_422_with_loc(sdk032):
    with pytest.raises(m032.HTTPValidationError) as raised:
        sdk032.events.ingest(
            request={"events": [{"name": "api_call", "external_customer_id": "x", "timestamp": FUTURE}]}
        )  # 0.32 checks the format itself; a timestamp in the future is only refused by the server
    locs = [tuple(d.loc) for d in raised.value.data.detail]
    assert ("body", "events", 0, "timestamp") in locs
    assert sdk032.events.list().pagination.total_count == 0


def test_032_other_organizations_meter_is_not_found(sdk032, contract_other_organization):
    foreign = MeterFactory(organization=contract_other_organization)
    with pytest.raises(m032.ResourceNotFound):
        sdk032.meters.get(id=str(foreign.id))
    with pytest.raises(m032.ResourceNotFound):
        sdk032.meters.update(id=str(foreign.id), meter_update={"name": "Mine"})
    with pytest.raises(m032.ResourceNotFound):
        sdk032.meters.quantities(
            id=str(foreign.id),
            start_timestamp=DAY0,
            end_timestamp=DAY1,
            interval=m032.TimeInterval.DAY,
        )


# --- 1.0.x ----------------------------------------------------------------------------------------


def test_10_events_and_meters(sdk10, contract_organization, contract_other_organization, contract_other_token):
    customer = CustomerFactory(organization=contract_organization, external_id="ext-10")
    foreign = MeterFactory(organization=contract_other_organization)
    results = sdk10.run(
        op("events.ingest", events=_events("ext-10")),
        op("events.ingest", events=_events("ext-10")[:1]),
        op("events.list", name="api_call", external_customer_id="ext-10", sorting=["timestamp"]),
        op("events.get", "${2.items.0.id}"),
        op("meters.create", name="Tokens", filter=API_CALLS, aggregation=TOKENS, metadata={"team": "ml"}),
        op("meters.get", "${4.id}"),
        op("meters.list"),
        op("meters.quantities", "${4.id}", start_timestamp=START, end_timestamp=END, interval="day", timezone="UTC"),
        op("meters.update", "${4.id}", is_archived=True),
        op("meters.list", is_archived=False),
        op("meters.get", str(foreign.id)),
        op("events.ingest", events=[{"name": "api_call", "external_customer_id": "x", "timestamp": "not-a-date"}]),
        op("meters.get", "${4.id}", access_token=contract_other_token),
        op("events.ingest", events=[{"name": "api_call", "external_customer_id": "x", "timestamp": FUTURE}]),
        op("events.list"),
    )
    ingested = ok(results[0])
    assert (ingested["inserted"], ingested["duplicates"]) == (4, 1)
    assert (ok(results[1])["inserted"], ok(results[1])["duplicates"]) == (0, 1)

    listed = ok(results[2])
    assert listed["pagination"]["total_count"] == 3
    assert [e["metadata"]["tokens"] for e in listed["items"]] == [10, 20, 5]
    first = listed["items"][0]
    assert first["__class__"] == "UserEvent" and first["name"] == "api_call"
    assert first["customer_id"] == str(customer.id) and first["external_customer_id"] == "ext-10"
    fetched = ok(results[3])
    assert fetched["id"] == first["id"] and fetched["metadata"] == {"tokens": 10}

    meter = ok(results[4])
    assert meter["__class__"] == "Meter" and meter["name"] == "Tokens" and meter["metadata"] == {"team": "ml"}
    assert meter["filter"]["clauses"][0]["value"] == "api_call"
    assert (meter["aggregation"]["func"], meter["aggregation"]["property"]) == ("sum", "tokens")
    assert ok(results[5])["id"] == meter["id"]
    assert [m["id"] for m in ok(results[6])["items"]] == [meter["id"]]

    quantities = ok(results[7])
    assert quantities["__class__"] == "MeterQuantities"
    assert [(_day(q["timestamp"]), q["quantity"]) for q in quantities["quantities"]] == EXPECTED_BUCKETS
    assert quantities["total"] == 35

    assert ok(results[8])["archived_at"] is not None
    assert ok(results[9])["pagination"]["total_count"] == 0
    failed(results[10], "ResourceNotFound", 404)
    error = failed(results[11], "HTTPValidationError", 422)
    assert ["body", "events", 0, "timestamp"] in [d["loc"] for d in error["body"]["detail"]]
    failed(results[12], "ResourceNotFound", 404)
    error = failed(results[13], "HTTPValidationError", 422)
    assert [d["loc"] for d in error["body"]["detail"]] == [["body", "events", 0, "timestamp"]]
    assert ok(results[14])["pagination"]["total_count"] == 4  # nothing written by the refused batches


def test_10_customer_meters(sdk10, contract_organization):
    customer = CustomerFactory(organization=contract_organization, external_id="ext-cm10")
    meter = MeterFactory(organization=contract_organization, filter=API_CALLS, aggregation=TOKENS, name="Tokens")
    results = sdk10.run(
        op(
            "events.ingest",
            events=[
                {"name": "api_call", "external_customer_id": "ext-cm10", "metadata": {"tokens": 4}},
                {"name": "api_call", "external_customer_id": "ext-cm10", "metadata": {"tokens": 6}},
            ],
        ),
        op("customer_meters.list", external_customer_id="ext-cm10"),
        op("customer_meters.get", "${1.items.0.id}"),
    )
    assert ok(results[0])["inserted"] == 2
    page = ok(results[1])
    assert page["pagination"]["total_count"] == 1
    row = page["items"][0]
    assert row["__class__"] == "CustomerMeter"
    assert row["customer_id"] == str(customer.id) and row["meter_id"] == str(meter.id)
    assert (row["consumed_units"], row["credited_units"], row["balance"]) == (10, 0, -10)
    fetched = ok(results[2])
    assert fetched["id"] == row["id"] and fetched["consumed_units"] == 10
