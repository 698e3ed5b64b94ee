"""The event-based metrics (costs, active users) read through the organization's event rollups plus the raw tail
answer exactly what the raw events answer: on every bucket grid and time zone, with late and backdated events in
the tail and then folded in, after a customer is created for an external id, and in another currency. The check
finds a drifted rollup and a rebuild repairs it."""

import datetime as dt
import random

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from billing.analytics import selectors
from billing.usage import event_rollups
from billing.usage.services import customer_create, events_ingest
from polar import clock
from tests.factories import CustomerFactory

from .test_metrics import EXPECTED, EXPECTED_TOTALS, get_metrics
from .world import NOW, World

COSTS = [
    None,
    {"amount": 12, "currency": "usd"},
    {"amount": "0.125", "currency": "usd"},
    {"amount": 7.5, "currency": "usd"},
    {"amount": 3, "currency": "usd"},
]
# (timezone, interval, start_date, end_date): UTC days (the day rows), and every other grid (the hours).
SCOPES = [
    ("UTC", "day", dt.date(2026, 2, 1), dt.date(2026, 5, 15)),
    ("Europe/London", "day", dt.date(2026, 1, 20), dt.date(2026, 3, 20)),  # offset 0 throughout: the day rows
    ("Europe/London", "day", dt.date(2026, 3, 20), dt.date(2026, 4, 5)),  # across the change to summer time
    ("America/New_York", "day", dt.date(2026, 3, 1), dt.date(2026, 4, 10)),
    ("America/New_York", "hour", dt.date(2026, 3, 7), dt.date(2026, 3, 9)),
    ("UTC", "hour", dt.date(2026, 5, 13), dt.date(2026, 5, 15)),
    ("UTC", "week", dt.date(2026, 2, 1), dt.date(2026, 5, 15)),
    ("Asia/Tokyo", "month", dt.date(2026, 1, 1), dt.date(2026, 5, 15)),
    ("UTC", "year", dt.date(2026, 1, 1), dt.date(2026, 5, 15)),
    ("Asia/Kolkata", "day", dt.date(2026, 3, 1), dt.date(2026, 3, 31)),  # half-hour offset: the raw events
]


def _scope(organization, timezone, unit, start, end, currency="usd", customers=None):
    range_start, range_end = selectors.bucket_range(start_date=start, end_date=end, unit=unit, timezone=timezone)
    return selectors.MetricsScope(
        organization_id=organization.id, currency=currency, timezone=timezone, unit=unit, range_start=range_start,
        range_end=range_end, now=clock.now(), customer_ids=customers,
    )  # fmt: skip


def _events(rng, whos, count, *, latest):
    """``count`` events at random instants of Jan 5 – ``latest``, for random who, with random costs."""
    first = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    events = []
    for _ in range(count):
        moment = first + dt.timedelta(seconds=rng.randrange(int((latest - first).total_seconds())))
        who = rng.choice(whos)
        key = "customer_id" if who[0] == "customer_id" else "external_customer_id"
        cost = rng.choice(COSTS)
        metadata = {"tokens": rng.randrange(100)} | ({"_cost": cost} if cost else {})
        events.append({"name": "llm", key: who[1], "timestamp": moment.isoformat(), "metadata": metadata})
    return events


def _assert_rollups_answer_like_raw(organization, customers):
    scopes = [_scope(organization, *scope) for scope in SCOPES]
    scopes.append(_scope(organization, "UTC", "day", dt.date(2026, 3, 1), dt.date(2026, 4, 1), currency="eur"))
    scopes.append(_scope(organization, "UTC", "day", dt.date(2026, 3, 1), dt.date(2026, 4, 1), customers=[customers[0].id]))
    for scope in scopes:
        assert selectors.event_metrics(scope) == selectors.event_metrics_raw(scope), (scope.timezone, scope.unit)


@pytest.mark.django_db
def test_rollups_and_tail_answer_what_the_raw_events_answer(organization):
    rng = random.Random(18)
    customers = [CustomerFactory(organization=organization, external_id=f"c{i}") for i in range(4)]
    whos = [("customer_id", str(c.id)) for c in customers] + [("external", "ghost"), ("external", "later")]
    with clock.freeze(NOW):
        events_ingest(organization=organization, events=_events(rng, whos, 400, latest=NOW))
        assert event_rollups.event_rollup_watermark(organization_id=organization.id) is None
        _assert_rollups_answer_like_raw(organization, customers)  # both raw: no refresh yet
    written = event_rollups.event_rollup_refresh(organization_id=organization.id, now=NOW + dt.timedelta(minutes=5))
    assert written > 0
    assert event_rollups.event_rollup_watermark(organization_id=organization.id) == NOW + dt.timedelta(minutes=3)
    assert event_rollups.event_rollup_check(organization_id=organization.id) == []
    with clock.freeze(NOW):
        _assert_rollups_answer_like_raw(organization, customers)

    # Late and backdated events (into hours and days the rollups already hold), read from the tail.
    later = NOW + dt.timedelta(minutes=10)
    with clock.freeze(later):
        events_ingest(organization=organization, events=_events(rng, whos, 60, latest=later))
        _assert_rollups_answer_like_raw(organization, customers)
    event_rollups.event_rollup_refresh(organization_id=organization.id, now=later + dt.timedelta(minutes=5))
    assert event_rollups.event_rollup_check(organization_id=organization.id) == []
    with clock.freeze(later):
        _assert_rollups_answer_like_raw(organization, customers)

        # A customer created for an external id takes over its events, in the raw events and in the rollups.
        customer_create(organization=organization, email="later@example.com", external_id="later")
        _assert_rollups_answer_like_raw(organization, customers)
    assert event_rollups.event_rollup_check(organization_id=organization.id) == []
    assert event_rollups.event_rollup_refresh(organization_id=organization.id, now=later + dt.timedelta(minutes=5)) == 0


@pytest.fixture
def hand_world(organization):
    with clock.freeze(NOW):
        return World(organization).build()


@pytest.mark.django_db
def test_the_hand_computed_world_reads_the_same_through_the_rollups(api_client, hand_world, organization):
    event_rollups.event_rollup_refresh(organization_id=organization.id, now=NOW + dt.timedelta(minutes=5))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM billing_event_cost_rollup WHERE organization_id = %s", [organization.id])
        assert cursor.fetchone()[0] == 5  # one row per event hour
    body = get_metrics(api_client)
    for slug in ("costs", "cumulative_costs", "active_user_by_event", "cost_per_user", "gross_margin", "cashflow"):
        assert [p[slug] for p in body["periods"]] == pytest.approx(EXPECTED[slug]), slug
        if slug in EXPECTED_TOTALS:
            assert body["totals"][slug] == pytest.approx(EXPECTED_TOTALS[slug]), slug
    daily = get_metrics(api_client, interval="day", start_date="2026-01-14", end_date="2026-01-16")
    assert [p["costs"] for p in daily["periods"]] == [0, 200.5, 0]
    assert [p["active_user_by_event"] for p in daily["periods"]] == [0, 1, 0]


@pytest.mark.django_db
def test_reads_go_through_the_rollups_and_the_check_finds_a_drift(organization):
    customer = CustomerFactory(organization=organization, external_id="c0")
    with clock.freeze(NOW):
        events_ingest(
            organization=organization,
            events=[
                {"name": "llm", "customer_id": str(customer.id), "timestamp": "2026-05-01T10:15:00Z",
                 "metadata": {"_cost": {"amount": 40, "currency": "usd"}}},
                {"name": "llm", "external_customer_id": "ghost", "timestamp": "2026-05-01T10:45:00Z",
                 "metadata": {"_cost": {"amount": 2, "currency": "usd"}}},
            ],
        )  # fmt: skip
    with clock.freeze(NOW + dt.timedelta(minutes=5)):
        call_command("event_rollups")
        call_command("event_rollups", "--check")  # agrees: no error
    scope = _scope(organization, "UTC", "day", dt.date(2026, 5, 1), dt.date(2026, 5, 1))
    assert [(r["costs"], r["active_user_by_event"], r["range_active_users"]) for r in selectors.event_metrics(scope)] == [
        (42, 2, 2)
    ]
    with connection.cursor() as cursor:  # a drifted rollup, as a bug would leave it
        cursor.execute(
            "UPDATE billing_event_cost_rollup SET cost_sum = cost_sum + 100 WHERE organization_id = %s", [organization.id]
        )
        cursor.execute("UPDATE billing_event_activity_day SET active_users = 5 WHERE organization_id = %s", [organization.id])
    assert [(r["costs"], r["active_user_by_event"]) for r in selectors.event_metrics(scope)] == [(142, 5)]
    found = event_rollups.event_rollup_check(organization_id=organization.id)
    assert [(d["rollup"], d["raw"], d["rollup_value"]) for d in found] == [
        ("active_users", "2", "5"),
        ("costs", "2 events, 42 cost", "2 events, 142 cost"),
    ]
    with pytest.raises(CommandError):
        call_command("event_rollups", "--check")
    with clock.freeze(NOW + dt.timedelta(minutes=5)):
        call_command("event_rollups", "--rebuild")
    assert event_rollups.event_rollup_check(organization_id=organization.id) == []
    assert [(r["costs"], r["active_user_by_event"]) for r in selectors.event_metrics(scope)] == [(42, 2)]


def test_the_beat_schedule_refreshes_the_event_rollups_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["event-rollups-refresh"]
    assert entry["task"] == "billing.tasks.event_rollups_refresh"
    assert entry["schedule"] == dt.timedelta(minutes=1)
