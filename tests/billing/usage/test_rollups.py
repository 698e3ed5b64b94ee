"""Hourly meter rollups: reads through the rollup answer exactly what the raw events answer, late and backdated
events correct it, a changed meter is rebuilt, and the check finds a rollup that drifted."""

import contextlib
import datetime as dt
import random

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from billing.usage import rollups
from billing.usage.services import meter_quantity
from polar import clock
from tests.factories.usage import MeterFactory

from .conftest import NOW, ingest

AGGREGATIONS = [
    {"func": "count"},
    {"func": "sum", "property": "tokens"},
    {"func": "max", "property": "tokens"},
    {"func": "min", "property": "tokens"},
    {"func": "avg", "property": "tokens"},
    {"func": "unique", "property": "model"},
]
ALL_EVENTS = {"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "api_call"}]}


def _events(customer):
    c = str(customer.id)
    stamps = ["2026-11-01T23:59:59Z", "2026-11-02T10:00:00Z", "2026-11-02T10:45:00Z", "2026-11-03T04:30:00Z",
              "2026-11-04T10:15:00Z", "2026-11-06T00:00:00Z", "2026-11-07T23:30:00Z"]  # fmt: skip
    events = [
        {
            "name": "api_call",
            "customer_id": c,
            "timestamp": stamp,
            "metadata": {"tokens": 3 * i + 1.25 * (i % 2), "model": f"m{i % 3}"},
        }
        for i, stamp in enumerate(stamps)
    ]
    events.append({"name": "api_call", "external_customer_id": "not-yet", "timestamp": "2026-11-02T11:00:00Z", "metadata": {}})
    events.append({"name": "other", "customer_id": c, "timestamp": "2026-11-02T11:00:00Z", "metadata": {"tokens": 1000}})
    return events


def _answers(api_client, meter, customer):
    """Everything a meter answers, over ranges that do and do not start on an hour, in three time zones."""
    answers = []
    for timezone in ("UTC", "America/New_York", "Asia/Kolkata"):
        for interval, start, end in (
            ("day", "2026-11-01T06:30:00Z", "2026-11-08T00:00:00Z"),
            ("hour", "2026-11-02T09:00:00Z", "2026-11-02T13:00:00Z"),
            ("week", "2026-10-26T00:00:00Z", "2026-11-09T00:00:00Z"),
        ):
            response = api_client.get(
                f"/v1/meters/{meter.id}/quantities",
                {"start_timestamp": start, "end_timestamp": end, "interval": interval, "timezone": timezone},
            )
            assert response.status_code == 200, response.content
            answers.append(response.json())
    for start, end in (
        (NOW.replace(day=1, hour=0), NOW.replace(day=30)),
        (NOW.replace(day=2, hour=10, minute=30), NOW.replace(day=6)),
    ):
        answers.append(str(meter_quantity(meter=meter, customer=customer, start=start, end=end)))
    return answers


def _state(meter):
    with connection.cursor() as cursor:
        cursor.execute("SELECT watermark FROM billing_meter_rollup_state WHERE meter_id = %s", [meter.id])
        row = cursor.fetchone()
    return row and row[0]


@pytest.mark.parametrize("aggregation", AGGREGATIONS, ids=[a["func"] for a in AGGREGATIONS])
def test_the_rollup_answers_what_the_raw_events_answer(api_client, organization, customer, frozen_now, aggregation):
    meter = MeterFactory(organization=organization, filter=ALL_EVENTS, aggregation=aggregation)
    assert ingest(api_client, _events(customer)).status_code == 200
    raw = _answers(api_client, meter, customer)
    written = rollups.meter_rollup_refresh(meter=meter, now=NOW + dt.timedelta(minutes=5))
    if aggregation["func"] == "unique":
        assert written == 0 and _state(meter) is None  # distinct values do not combine: always raw
    else:
        assert written == 7 and _state(meter) == NOW + dt.timedelta(minutes=3)
    assert _answers(api_client, meter, customer) == raw


def test_reads_go_through_the_rollup_and_the_check_finds_a_drift(api_client, organization, customer, frozen_now):
    meter = MeterFactory(organization=organization, filter=ALL_EVENTS, aggregation={"func": "count"})
    ingest(api_client, _events(customer))
    rollups.meter_rollup_refresh(meter=meter, now=NOW + dt.timedelta(minutes=5))
    month = (NOW.replace(day=1, hour=0), NOW.replace(day=30))
    assert meter_quantity(meter=meter, customer=customer, start=month[0], end=month[1]) == 7
    call_command("meter_rollups", "--check")  # agrees: no error
    with connection.cursor() as cursor:  # a drifted rollup (as a bug would leave it)
        cursor.execute("UPDATE billing_meter_rollup SET events = events + 100 WHERE meter_id = %s AND hour = %s",
                       [meter.id, dt.datetime(2026, 11, 4, 10, tzinfo=dt.UTC)])  # fmt: skip
    assert meter_quantity(meter=meter, customer=customer, start=month[0], end=month[1]) == 107
    assert [d["hour"] for d in rollups.meter_rollup_check(meter=meter)] == [dt.datetime(2026, 11, 4, 10, tzinfo=dt.UTC)]
    with pytest.raises(CommandError):
        call_command("meter_rollups", "--check")
    with clock.freeze(NOW + dt.timedelta(minutes=5)):
        call_command("meter_rollups", "--rebuild")
    assert _state(meter) == NOW + dt.timedelta(minutes=3)
    assert rollups.meter_rollup_check(meter=meter) == []
    assert meter_quantity(meter=meter, customer=customer, start=month[0], end=month[1]) == 7


def test_late_and_backdated_events_are_read_from_the_tail_then_folded_in(api_client, organization, customer, frozen_now):
    meter = MeterFactory(organization=organization, filter=ALL_EVENTS, aggregation={"func": "sum", "property": "tokens"})
    ingest(api_client, _events(customer))
    rollups.meter_rollup_refresh(meter=meter, now=NOW + dt.timedelta(minutes=5))
    month = (NOW.replace(day=1, hour=0), NOW.replace(day=30))
    before = meter_quantity(meter=meter, customer=customer, start=month[0], end=month[1])
    later = NOW + dt.timedelta(minutes=10)
    with clock.freeze(later):  # backdated to an hour the rollup already holds
        late = {
            "name": "api_call",
            "customer_id": str(customer.id),
            "timestamp": "2026-11-02T10:20:00Z",
            "metadata": {"tokens": 5},
        }
        assert ingest(api_client, [late]).json()["inserted"] == 1
    assert meter_quantity(meter=meter, customer=customer, start=month[0], end=month[1]) == before + 5  # the raw tail
    rollups.meter_rollup_refresh(meter=meter, now=later + dt.timedelta(minutes=5))
    assert _state(meter) == later + dt.timedelta(minutes=3)
    assert rollups.meter_rollup_check(meter=meter) == []
    assert meter_quantity(meter=meter, customer=customer, start=month[0], end=month[1]) == before + 5
    assert rollups.meter_rollup_refresh(meter=meter, now=later + dt.timedelta(minutes=5)) == 0  # nothing new


def test_a_changed_meter_reads_raw_until_rebuilt(api_client, organization, customer, frozen_now):
    meter = MeterFactory(organization=organization, filter=ALL_EVENTS, aggregation={"func": "count"})
    ingest(api_client, _events(customer))
    rollups.meter_rollup_refresh(meter=meter, now=NOW + dt.timedelta(minutes=5))
    month = (NOW.replace(day=1, hour=0), NOW.replace(day=30))
    meter.filter = {
        "conjunction": "or",
        "clauses": [*ALL_EVENTS["clauses"], {"property": "name", "operator": "eq", "value": "other"}],
    }
    meter.save()
    assert meter_quantity(meter=meter, customer=customer, start=month[0], end=month[1]) == 8  # raw: the state is stale
    rollups.meter_rollups_refresh_all(now=NOW + dt.timedelta(minutes=6))
    assert rollups.meter_rollup_check(meter=meter) == []
    assert meter_quantity(meter=meter, customer=customer, start=month[0], end=month[1]) == 8


def test_the_beat_schedule_refreshes_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["meter-rollups-refresh"]
    assert entry["task"] == "billing.tasks.meter_rollups_refresh"
    assert entry["schedule"] == dt.timedelta(minutes=1)


@contextlib.contextmanager
def _without_rollup(meter):
    """Reads inside see no rollup state (so they read the raw events); the state is back afterwards."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT definition, watermark, rebuilt_at FROM billing_meter_rollup_state WHERE meter_id = %s", [meter.id])
        state = cursor.fetchone()
        cursor.execute("DELETE FROM billing_meter_rollup_state WHERE meter_id = %s", [meter.id])
    yield
    if state:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO billing_meter_rollup_state VALUES (%s, %s, %s, %s)", [meter.id, *state])


def _random_usage(rng, customers, count, *, latest):
    """``count`` api_call events at random instants of Nov 1 – ``latest``: for a customer, or under its external id
    (linked at ingest), or under an external id no customer has."""
    first = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    events = []
    for _ in range(count):
        moment = first + dt.timedelta(seconds=rng.randrange(int((latest - first).total_seconds())))
        customer = rng.choice([*customers, None])
        who = {"external_customer_id": "nobody"} if customer is None else rng.choice(
            [{"customer_id": str(customer.id)}, {"external_customer_id": customer.external_id or "nobody"}]
        )  # fmt: skip
        events.append({"name": rng.choice(["api_call", "api_call", "other"]), **who, "timestamp": moment.isoformat(),
                       "metadata": {"tokens": rng.randrange(-5, 50) + rng.choice([0, 0.25])}})  # fmt: skip
    return events


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("aggregation", AGGREGATIONS[:5], ids=[a["func"] for a in AGGREGATIONS[:5]])
def test_the_renewal_batch_read_through_the_rollup_equals_the_raw_read(api_client, organization, frozen_now, aggregation, seed):
    """``meter_quantity_by_customer`` (the renewal batch's read) through the rollup, the raw tail and the partial
    hours at the periods' edges answers what the raw events answer, before and after late and backdated events are
    folded in, with events not linked to their customer yet."""
    from billing.models.events import Event
    from billing.usage.selectors import meter_quantity_by_customer
    from tests.factories import CustomerFactory

    rng = random.Random(seed)
    meter = MeterFactory(organization=organization, filter=ALL_EVENTS, aggregation=aggregation)
    customers = [CustomerFactory(organization=organization, external_id=f"x{i}" if i % 2 else None) for i in range(4)]
    assert ingest(api_client, _random_usage(rng, customers, 150, latest=NOW)).status_code == 200
    Event.objects.filter(customer=customers[1], timestamp__lt=NOW - dt.timedelta(days=7)).update(customer=None)  # not linked
    periods = [(NOW.replace(day=1, hour=0), NOW.replace(day=15, hour=0)), (NOW.replace(day=2, hour=7, minute=40), NOW)]
    periods.append((dt.datetime(2026, 11, 3, 9, 59, 59, tzinfo=dt.UTC), dt.datetime(2026, 11, 3, 10, 0, 1, tzinfo=dt.UTC)))

    def both():
        through = [meter_quantity_by_customer(meter=meter, customers=customers, start=a, end=b) for a, b in periods]
        with _without_rollup(meter):
            raw = [meter_quantity_by_customer(meter=meter, customers=customers, start=a, end=b) for a, b in periods]
        return through, raw

    assert rollups.meter_rollup_refresh(meter=meter, now=NOW + dt.timedelta(minutes=5)) > 0
    through, raw = both()
    assert through == raw and any(raw)
    later = NOW + dt.timedelta(minutes=10)
    with clock.freeze(later):  # late and backdated: in the tail until the next refresh
        assert ingest(api_client, _random_usage(rng, customers, 40, latest=NOW)).status_code == 200
    through_tail, raw_with_late = both()
    assert through_tail == raw_with_late
    if aggregation["func"] in ("count", "sum"):
        assert raw_with_late != raw  # the late events changed the answer (max and min may stay)
    rollups.meter_rollup_refresh(meter=meter, now=later + dt.timedelta(minutes=5))
    assert both() == (raw_with_late, raw_with_late)


def test_the_renewal_batch_reads_the_rollup(api_client, organization, customer, frozen_now):
    from billing.usage.selectors import meter_quantity_by_customer

    meter = MeterFactory(organization=organization, filter=ALL_EVENTS, aggregation={"func": "count"})
    ingest(api_client, _events(customer))
    rollups.meter_rollup_refresh(meter=meter, now=NOW + dt.timedelta(minutes=5))
    month = (NOW.replace(day=1, hour=0), NOW.replace(day=30))
    assert meter_quantity_by_customer(meter=meter, customers=[customer], start=month[0], end=month[1]) == {customer.id: 7}
    with connection.cursor() as cursor:  # a drifted rollup row shows: the read went through the rollup
        cursor.execute("UPDATE billing_meter_rollup SET events = events + 100 WHERE meter_id = %s AND hour = %s",
                       [meter.id, dt.datetime(2026, 11, 4, 10, tzinfo=dt.UTC)])  # fmt: skip
    assert meter_quantity_by_customer(meter=meter, customers=[customer], start=month[0], end=month[1]) == {customer.id: 107}


def test_the_whole_meter_reads_the_per_hour_rows_and_the_check_compares_them(api_client, organization, customer, frozen_now):
    meter = MeterFactory(organization=organization, filter=ALL_EVENTS, aggregation={"func": "count"})
    ingest(api_client, _events(customer))
    rollups.meter_rollup_refresh(meter=meter, now=NOW + dt.timedelta(minutes=5))
    params = {"start_timestamp": "2026-11-01T00:00:00Z", "end_timestamp": "2026-12-01T00:00:00Z", "interval": "month"}
    assert api_client.get(f"/v1/meters/{meter.id}/quantities", params).json()["total"] == 8  # 7 + the unlinked one
    with connection.cursor() as cursor:
        cursor.execute("SELECT hour, events FROM billing_meter_rollup_hour WHERE meter_id = %s ORDER BY hour", [meter.id])
        assert cursor.fetchall()[:3] == [
            (dt.datetime(2026, 11, 1, 23, tzinfo=dt.UTC), 1),
            (dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC), 2),  # two events of the customer in one hour
            (dt.datetime(2026, 11, 2, 11, tzinfo=dt.UTC), 1),  # the event not linked to a customer
        ]
        cursor.execute("UPDATE billing_meter_rollup_hour SET events = events + 100 WHERE meter_id = %s AND hour = %s",
                       [meter.id, dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)])  # fmt: skip
    assert api_client.get(f"/v1/meters/{meter.id}/quantities", params).json()["total"] == 108
    assert [(d["hour"], d["raw_events"], d["rollup_events"]) for d in rollups.meter_rollup_check(meter=meter)] == [
        (dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC), 2, 102)
    ]
    rollups.meter_rollup_refresh(meter=meter, rebuild=True, now=NOW + dt.timedelta(minutes=5))
    assert api_client.get(f"/v1/meters/{meter.id}/quantities", params).json()["total"] == 8


def test_a_customer_created_for_an_external_id_takes_its_rollup_rows(api_client, organization, customer, frozen_now):
    from billing.usage.services import customer_create

    meter = MeterFactory(organization=organization, filter=ALL_EVENTS, aggregation={"func": "count"})
    ingest(api_client, _events(customer))  # one api_call under "not-yet", no such customer
    rollups.meter_rollup_refresh(meter=meter, now=NOW + dt.timedelta(minutes=5))
    month = (NOW.replace(day=1, hour=0), NOW.replace(day=30))
    created = customer_create(organization=organization, email="later@example.com", external_id="not-yet")
    assert rollups.meter_rollup_check(meter=meter) == []  # the rows follow the linked events
    with connection.cursor() as cursor:
        cursor.execute("SELECT customer_id, events FROM billing_meter_rollup WHERE external_customer_id = 'not-yet'")
        assert cursor.fetchall() == [(created.id, 1)]
    assert meter_quantity(meter=meter, customer=created, start=month[0], end=month[1]) == 1
    assert meter_quantity(meter=meter, customer=customer, start=month[0], end=month[1]) == 7
