"""Monthly partitions of ``billing_event``.

Partitions are created by the SQL function ``billing_event_ensure_partition`` (migration 0002_usage), which
serialises creators on an advisory lock. Beat creates the next months ahead
(``billing.tasks.events_partitions_ensure``); ingestion creates a month on demand for backdated events.
The months known to exist are cached per process so the hot path does not ask PostgreSQL each time.
"""

import datetime as dt

from django.db import connection

from polar import clock

MONTHS_AHEAD = 3
_known_months: set[tuple[int, int]] = set()


def _month_start(year: int, month: int) -> dt.datetime:
    return dt.datetime(year, month, 1, tzinfo=dt.UTC)


def ensure_partitions_for(timestamps) -> None:
    """Make sure a partition exists for every month among ``timestamps``. Cheap when they all exist."""
    months = {(timestamp.year, timestamp.month) for timestamp in _utc(timestamps)} - _known_months
    if months:
        ensure_months(sorted(months))


def _utc(timestamps):
    for timestamp in timestamps:
        yield timestamp.astimezone(dt.UTC) if timestamp.utcoffset() else timestamp


def ensure_months(months) -> list[str]:
    """Create the partitions for ``[(year, month), ...]`` unless they exist. Returns their names."""
    names = []
    with connection.cursor() as cursor:
        for year, month in months:
            cursor.execute("SELECT billing_event_ensure_partition(%s)", [_month_start(year, month)])
            names.append(cursor.fetchone()[0])
    # Only cache when not inside a transaction that could still roll the partition back.
    if connection.get_autocommit():
        _known_months.update(months)
    return names


def ensure_partitions_ahead(*, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create this month's partition and the next ``months_ahead``. Idempotent (beat runs it daily)."""
    now = clock.now()
    months = []
    year, month = now.year, now.month
    for _ in range(months_ahead + 1):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ensure_months(months)


def forget_partitions() -> None:
    _known_months.clear()


def partition_names() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'billing_event'::regclass ORDER BY c.relname"
        )
        return [row[0] for row in cursor.fetchall()]
