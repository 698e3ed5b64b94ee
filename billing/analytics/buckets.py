"""Buckets: the time grid of a metrics query, and the SQL that puts a row in its bucket.

See ``billing.analytics.selectors`` for how flows and stocks use them, and docs/metrics.md.
"""

import dataclasses
import datetime as dt
import uuid
import zoneinfo

UNITS = ("hour", "day", "week", "month", "year")
PAID_ORDER_STATUSES = ("paid", "refunded", "partially_refunded")


@dataclasses.dataclass(frozen=True)
class MetricsScope:
    """What a metrics query reads: one organization's rows in one currency, optionally filtered."""

    organization_id: uuid.UUID | None  # None: the caller asked for another organization: every figure is 0
    currency: str
    timezone: str
    unit: str
    range_start: dt.datetime  # the first bucket's start (aware)
    range_end: dt.datetime  # the last bucket's end (aware)
    now: dt.datetime
    product_ids: list[uuid.UUID] | None = None
    customer_ids: list[uuid.UUID] | None = None
    billing_type: str | None = None  # "one_time" | "recurring" | None

    def params(self) -> dict:
        assert self.unit in UNITS
        return {
            "org": self.organization_id,
            "currency": self.currency,
            "tz": self.timezone,
            "unit": self.unit,
            "step": f"1 {self.unit}",
            "range_start": self.range_start,
            "range_end": self.range_end,
            "now": self.now,
            "products": self.product_ids,
            "customers": self.customer_ids,
            "billing_type": self.billing_type,
        }


# Per interval, the shortest and longest range (end_date − start_date, in days) a request may ask for.
INTERVAL_LIMITS = {"hour": (0, 7), "day": (0, 366), "week": (0, 4 * 366), "month": (0, 10 * 366), "year": (0, 100 * 366)}


def bucket_range(*, start_date: dt.date, end_date: dt.date, unit: str, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """The first bucket's start and the last one's end: local midnights of the truncated dates in ``timezone``.
    Buckets are whole intervals: the first is the one containing ``start_date``, the last the one containing
    ``end_date`` (inclusive, as Polar's dates are)."""

    def truncate(day: dt.date) -> dt.date:
        if unit == "week":
            return day - dt.timedelta(days=day.weekday())
        if unit == "month":
            return day.replace(day=1)
        if unit == "year":
            return day.replace(month=1, day=1)
        return day

    first, last = truncate(start_date), truncate(end_date)
    if unit in ("hour", "day"):
        after = last + dt.timedelta(days=1)
    elif unit == "week":
        after = last + dt.timedelta(weeks=1)
    elif unit == "month":
        after = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    else:
        after = last.replace(year=last.year + 1)
    zone = zoneinfo.ZoneInfo(timezone)
    return dt.datetime.combine(first, dt.time(), zone), dt.datetime.combine(after, dt.time(), zone)


# The buckets, numbered from 0, with their snapshot instant.
BUCKETS_CTE = """
buckets AS (
    SELECT (row_number() OVER (ORDER BY local_start) - 1)::int AS idx,
           local_start AT TIME ZONE %(tz)s AS bucket_start,
           (local_start + %(step)s::interval) AT TIME ZONE %(tz)s AS bucket_end,
           LEAST((local_start + %(step)s::interval) AT TIME ZONE %(tz)s, %(now)s::timestamptz) AS snapshot
    FROM generate_series(
        %(range_start)s::timestamptz AT TIME ZONE %(tz)s,
        (%(range_end)s::timestamptz AT TIME ZONE %(tz)s) - %(step)s::interval,
        %(step)s::interval
    ) AS local_start
    WHERE %(unit)s <> 'hour'
    UNION ALL
    SELECT (row_number() OVER (ORDER BY g) - 1)::int, g, g + interval '1 hour', LEAST(g + interval '1 hour', %(now)s::timestamptz)
    FROM generate_series(%(range_start)s::timestamptz, %(range_end)s::timestamptz - interval '1 hour', interval '1 hour') AS g
    WHERE %(unit)s = 'hour'
)"""


def bucket_key(column: str) -> str:
    """The start of the bucket holding instant ``column`` (an SQL expression), comparable to bucket_start."""
    return f"""(CASE WHEN %(unit)s = 'hour'
        THEN %(range_start)s::timestamptz + floor(extract(epoch FROM ({column}) - %(range_start)s::timestamptz) / 3600) * interval '1 hour'
        ELSE date_trunc(%(unit)s, {column}, %(tz)s) END)"""
