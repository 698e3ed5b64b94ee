"""Hourly meter rollups: pre-aggregated events, so a meter's quantities read rollup rows plus only the raw tail.

``billing_meter_rollup`` holds, per meter, UTC hour, ``customer_id`` and ``external_customer_id`` (as stored on
the events), the event count and the count, sum, min and max of the meter's value; ``billing_meter_rollup_hour``
the same summed over customers, per meter and hour (whole-meter reads). ``billing_meter_rollup_state``
holds per meter the **watermark** (every event *ingested* before it is in the rollup) and the definition
(filter and aggregation) the rows were built for.

- ``meter_rollup_refresh`` (a beat task every minute, ``manage.py meter_rollups``) adds the events ingested in
  ``[watermark, now − LAG)`` to their hours, whatever their timestamp: late and backdated events correct the
  hour they belong to. ``LAG`` leaves time for ingest transactions in flight to commit (their ``ingested_at``
  is set before they commit). A changed definition rebuilds the meter's rows.
- Reads (``quantities`` / ``quantity``) combine the rollup rows of the whole hours inside the range with the raw
  events that are not in them: those ingested at or after the watermark, and those in the partial hours at the
  edges. The result is the same as the raw aggregation: sums, counts, minima and maxima combine exactly, the
  mean is Σsum / Σcount. ``unique`` meters, a state built for another definition, or bucket boundaries that are
  not UTC hours (time zones with half-hour offsets) read the raw events.
- ``meter_rollup_check`` compares rollup and raw aggregation per meter and hour (``manage.py meter_rollups --check``).

docs/events.md says what consistency this gives.
"""

import datetime as dt
import json
import zoneinfo
from decimal import Decimal

from django.db import connection, transaction
from psycopg import sql

from billing.models import Meter
from billing.usage.sql import compile_filter, compile_value
from polar import clock

LAG = dt.timedelta(minutes=2)
HOUR = dt.timedelta(hours=1)
# How each aggregation is made from the partial aggregates (``r``: rollup rows and raw events alike).
COMBINE = {
    "count": "sum(p.events)::bigint",
    "sum": "sum(p.value_sum)",
    "min": "min(p.value_min)",
    "max": "max(p.value_max)",
    "avg": "(sum(p.value_sum) / NULLIF(sum(p.value_count), 0))",
}


# Adding newly aggregated rows (EXCLUDED) to stored ones (r): sums add (NULL: no values yet), extremes compare.
_COMBINE_ROWS = sql.SQL(
    """events = r.events + EXCLUDED.events,
    value_count = r.value_count + EXCLUDED.value_count,
    value_sum = CASE WHEN r.value_sum IS NULL THEN EXCLUDED.value_sum
                     WHEN EXCLUDED.value_sum IS NULL THEN r.value_sum
                     ELSE r.value_sum + EXCLUDED.value_sum END,
    value_min = LEAST(r.value_min, EXCLUDED.value_min),
    value_max = GREATEST(r.value_max, EXCLUDED.value_max)"""
)


# Bumped when the rollup's tables change: a state built by older code (2: the per-hour rows were added) does not
# answer and is rebuilt by the next refresh, even during a deploy where old and new code both run.
LAYOUT = 2


def _definition(meter) -> dict:
    return {"filter": meter.filter, "aggregation": meter.aggregation, "layout": LAYOUT}


def _stored(value) -> dict:
    # Django has psycopg load jsonb as text (its JSONField parses it): parse it here.
    return json.loads(value) if isinstance(value, str) else value


# --- refresh ------------------------------------------------------------------------------------------------------


def meter_rollup_refresh(*, meter: Meter, rebuild: bool = False, now: dt.datetime | None = None) -> int:
    """Bring one meter's rollup up to ``now − LAG``; returns the number of rollup rows written.

    Locks the meter's state row (``FOR UPDATE``): concurrent refreshes of one meter serialise, and the rows and
    the watermark move together in one transaction, so an event is never counted twice nor skipped. A state
    built for another definition (the meter was updated), or ``rebuild``, deletes the rows and starts from
    the first event. Idempotent: a second run right after finds nothing new. ``unique`` meters are skipped."""
    value = compile_value(meter.aggregation)
    if value is None:
        return 0
    value_sql, value_params = value
    filter_sql, filter_params = compile_filter(meter.filter)
    watermark_to = (now or clock.now()) - LAG
    definition = _definition(meter)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('billing_meter_rollup'), hashtext(%s))", [str(meter.id)])
        cursor.execute("SELECT definition, watermark FROM billing_meter_rollup_state WHERE meter_id = %s FOR UPDATE", [meter.id])
        state = cursor.fetchone()
        if state is None or _stored(state[0]) != definition or rebuild:
            cursor.execute("DELETE FROM billing_meter_rollup WHERE meter_id = %s", [meter.id])
            cursor.execute("DELETE FROM billing_meter_rollup_hour WHERE meter_id = %s", [meter.id])
            watermark_from, rebuilt = dt.datetime.min.replace(tzinfo=dt.UTC), True
        else:
            watermark_from, rebuilt = state[1], False
        written = 0
        if watermark_to > watermark_from:
            # One pass over the new events: per customer and hour, then those rows summed per hour (what the whole
            # meter's reads use: a month is ~720 rows however many customers are active).
            cursor.execute(
                sql.SQL(
                    """
                    WITH new AS MATERIALIZED (
                        SELECT date_trunc('hour', v.t, 'UTC') AS hour, v.customer_id, v.external_customer_id,
                               count(*) AS events, count(v.x) AS value_count, sum(v.x) AS value_sum, min(v.x) AS value_min,
                               max(v.x) AS value_max
                        FROM (
                            SELECT e."timestamp" AS t, e.customer_id, e.external_customer_id, {value} AS x
                            FROM billing_event e
                            WHERE e.organization_id = {organization} AND e.ingested_at >= {start} AND e.ingested_at < {end}
                              AND ({filter})
                        ) AS v
                        GROUP BY 1, 2, 3
                    ),
                    per_customer AS (
                        INSERT INTO billing_meter_rollup AS r
                            (meter_id, hour, customer_id, external_customer_id, events, value_count, value_sum, value_min, value_max)
                        SELECT {meter}, hour, customer_id, external_customer_id, events, value_count, value_sum, value_min, value_max
                        FROM new
                        ON CONFLICT ON CONSTRAINT billing_meter_rollup_key DO UPDATE SET {combine}
                        RETURNING 1
                    ),
                    per_hour AS (
                        INSERT INTO billing_meter_rollup_hour AS r
                            (meter_id, hour, events, value_count, value_sum, value_min, value_max)
                        SELECT {meter2}, hour, sum(events), sum(value_count), sum(value_sum), min(value_min), max(value_max)
                        FROM new GROUP BY hour
                        ON CONFLICT ON CONSTRAINT billing_meter_rollup_hour_key DO UPDATE SET {combine2}
                        RETURNING 1
                    )
                    SELECT (SELECT count(*) FROM per_customer), (SELECT count(*) FROM per_hour)
                    """
                ).format(
                    value=value_sql,
                    organization=sql.Placeholder(),
                    start=sql.Placeholder(),
                    end=sql.Placeholder(),
                    filter=filter_sql,
                    meter=sql.Placeholder(),
                    combine=_COMBINE_ROWS,
                    meter2=sql.Placeholder(),
                    combine2=_COMBINE_ROWS,
                ),
                [*value_params, meter.organization_id, watermark_from, watermark_to, *filter_params, meter.id, meter.id],
            )
            written = cursor.fetchone()[0]
        cursor.execute(
            """
            INSERT INTO billing_meter_rollup_state (meter_id, definition, watermark, rebuilt_at)
            VALUES (%s, %s::jsonb, %s, %s)
            ON CONFLICT (meter_id) DO UPDATE SET
                definition = EXCLUDED.definition,
                watermark = EXCLUDED.watermark,
                rebuilt_at = CASE WHEN %s THEN EXCLUDED.rebuilt_at ELSE billing_meter_rollup_state.rebuilt_at END
            """,
            # Exactly what the rows now hold: every event ingested before it (a rebuild starts again from the first).
            [meter.id, json.dumps(definition), max(watermark_to, watermark_from), clock.now(), rebuilt],
        )
    return written


def meter_rollups_refresh_all(*, now: dt.datetime | None = None) -> int:
    """Refresh every live meter (the beat task). Each meter in its own transaction."""
    total = 0
    for meter in Meter.objects.filter(archived_at__isnull=True).order_by("pk"):
        total += meter_rollup_refresh(meter=meter, now=now)
    return total


def meter_rollups_link(*, organization_id, customer_id, external_id: str) -> None:
    """Give the rollup rows of events ingested under ``external_id`` (not linked) to the customer ``customer_id``,
    as ``link_events_to_customer`` does with the events, in its transaction: the rows then keep matching the events
    they were made from (what ``meter_rollup_check`` compares). Takes every meter's rollup lock of the organization,
    in id order (a refresh holds one at a time), so no refresh folds half-linked events."""
    meter_ids = list(Meter.objects.filter(organization_id=organization_id).order_by("pk").values_list("pk", flat=True))
    if not meter_ids:
        return
    with connection.cursor() as cursor:
        for meter_id in meter_ids:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('billing_meter_rollup'), hashtext(%s))", [str(meter_id)])
        cursor.execute(
            sql.SQL(
                """
                WITH moved AS (
                    DELETE FROM billing_meter_rollup
                    WHERE meter_id = ANY(%(meters)s) AND customer_id IS NULL AND external_customer_id = %(external)s
                    RETURNING *
                )
                INSERT INTO billing_meter_rollup AS r
                    (meter_id, hour, customer_id, external_customer_id, events, value_count, value_sum, value_min, value_max)
                SELECT meter_id, hour, %(customer)s, external_customer_id, events, value_count, value_sum, value_min, value_max
                FROM moved
                ON CONFLICT ON CONSTRAINT billing_meter_rollup_key DO UPDATE SET {combine}
                """
            ).format(combine=_COMBINE_ROWS),
            {"meters": meter_ids, "external": external_id, "customer": customer_id},
        )


# --- reads --------------------------------------------------------------------------------------------------------


def _usable_watermark(meter):
    """The watermark to read with, or None when the rollup cannot answer for this meter."""
    if compile_value(meter.aggregation) is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT definition, watermark FROM billing_meter_rollup_state WHERE meter_id = %s", [meter.id])
        state = cursor.fetchone()
    if state is None or _stored(state[0]) != _definition(meter):
        return None
    return state[1]


def whole_hours(timezone: str, start: dt.datetime, end: dt.datetime) -> bool:
    """Whether local bucket boundaries in ``timezone`` fall on UTC hours over ``[start, end]`` (offsets in whole
    hours, checked at both ends and every 30 days between)."""
    zone = zoneinfo.ZoneInfo(timezone)
    instant = start
    while True:
        offset = instant.astimezone(zone).utcoffset()
        if offset is None or offset % HOUR:
            return False
        if instant >= end:
            return True
        instant = min(instant + dt.timedelta(days=30), end)


def _ceil_hour(instant: dt.datetime) -> dt.datetime:
    floor = instant.replace(minute=0, second=0, microsecond=0)
    return floor if floor == instant else floor + HOUR


def _parts(*, meter, watermark, start, end, customer_sql, customer_params):
    """SQL of the partial aggregates over ``[start, end)``: rollup rows of the whole hours inside, and the raw
    events not in them (the partial hours at the edges, and everything ingested since the watermark)."""
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    middle_start = min(_ceil_hour(start), end)
    middle_end = max(end.replace(minute=0, second=0, microsecond=0), middle_start)
    value_sql, value_params = compile_value(meter.aggregation)
    filter_sql, filter_params = compile_filter(meter.filter)
    raw_customer = sql.SQL("TRUE") if customer_sql is None else customer_sql
    # The whole meter reads the per-hour rows; some customers read theirs.
    rolled = (
        sql.SQL(
            "SELECT e.hour AS t, NULL::uuid AS customer_id, NULL::varchar AS external_customer_id, {columns} FROM billing_meter_rollup_hour e"
        )
        if customer_sql is None
        else sql.SQL("SELECT e.hour AS t, e.customer_id, e.external_customer_id, {columns} FROM billing_meter_rollup e")
    ).format(columns=sql.SQL("e.events, e.value_count, e.value_sum, e.value_min, e.value_max"))
    rollup_customer = sql.SQL("TRUE") if customer_sql is None else customer_sql
    query = sql.SQL(
        """
        {rolled}
        WHERE e.meter_id = {meter} AND e.hour >= {middle_start} AND e.hour < {middle_end} AND {rollup_customer}
        UNION ALL
        SELECT v.t, v.customer_id, v.external_customer_id, 1, (v.x IS NOT NULL)::int, v.x, v.x, v.x
        FROM (
            SELECT e."timestamp" AS t, e.customer_id, e.external_customer_id, {value} AS x
            FROM billing_event e
            WHERE e.organization_id = {organization} AND e."timestamp" >= {start} AND e."timestamp" < {end}
              AND ({filter}) AND {raw_customer}
              AND (e."timestamp" < {middle_start2} OR e."timestamp" >= {middle_end2} OR e.ingested_at >= {watermark})
        ) AS v
        """
    ).format(
        rolled=rolled,
        meter=sql.Placeholder(),
        middle_start=sql.Placeholder(),
        middle_end=sql.Placeholder(),
        rollup_customer=rollup_customer,
        value=value_sql,
        organization=sql.Placeholder(),
        start=sql.Placeholder(),
        end=sql.Placeholder(),
        filter=filter_sql,
        raw_customer=raw_customer,
        middle_start2=sql.Placeholder(),
        middle_end2=sql.Placeholder(),
        watermark=sql.Placeholder(),
    )
    params = [
        meter.id,
        middle_start,
        middle_end,
        *customer_params,
        *value_params,
        meter.organization_id,
        start,
        end,
        *filter_params,
        *customer_params,
        middle_start,
        middle_end,
        watermark,
    ]
    return query, params


def quantity(*, meter, start, end, customer_sql, customer_params):
    """The meter's aggregate over ``[start, end)`` from the rollup, or None when the rollup cannot answer."""
    watermark = _usable_watermark(meter)
    if watermark is None:
        return None
    parts, params = _parts(
        meter=meter, watermark=watermark, start=start, end=end, customer_sql=customer_sql, customer_params=customer_params
    )
    query = sql.SQL("SELECT COALESCE({combine}, 0) FROM ({parts}) AS p").format(
        combine=sql.SQL(COMBINE[meter.aggregation["func"]]), parts=parts
    )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return Decimal(cursor.fetchone()[0])


def quantity_by_customer(*, meter, start, end, customer_sql, customer_params, external_ids, external_owners):
    """``[(customer_id, aggregate)]`` over ``[start, end)`` for the customers ``customer_sql`` selects, from the
    rollup, or None when the rollup cannot answer. An event (or rollup row) not linked to a customer belongs to the
    customer whose external id it carries (``external_ids[i]`` is ``external_owners[i]``'s), as for the raw read."""
    watermark = _usable_watermark(meter)
    if watermark is None:
        return None
    parts, params = _parts(
        meter=meter, watermark=watermark, start=start, end=end, customer_sql=customer_sql, customer_params=customer_params
    )
    query = sql.SQL(
        "SELECT COALESCE(p.customer_id, x.customer_id) AS who, COALESCE({combine}, 0) FROM ({parts}) AS p"
        " LEFT JOIN unnest({external_ids}::text[], {external_owners}::uuid[]) AS x(external_id, customer_id)"
        " ON p.customer_id IS NULL AND p.external_customer_id = x.external_id"
        " GROUP BY 1"
    ).format(
        combine=sql.SQL(COMBINE[meter.aggregation["func"]]),
        parts=parts,
        external_ids=sql.Placeholder(),
        external_owners=sql.Placeholder(),
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*params, external_ids, external_owners])
        return [(who, Decimal(value)) for who, value in cursor.fetchall()]


def quantities(*, meter, start, end, interval, timezone, customer_sql, customer_params):
    """The rows ``meter_quantities`` answers (``(bucket_start, quantity, is_total)``) from the rollup, or None."""
    watermark = _usable_watermark(meter)
    if watermark is None or not whole_hours(timezone, start, end):
        return None
    parts, params = _parts(
        meter=meter, watermark=watermark, start=start, end=end, customer_sql=customer_sql, customer_params=customer_params
    )
    step = {"hour": "1 hour", "day": "1 day", "week": "1 week", "month": "1 month", "year": "1 year"}[interval]
    combine = sql.SQL(COMBINE[meter.aggregation["func"]])
    query = sql.SQL(
        """
        WITH buckets AS (
            SELECT (local_start AT TIME ZONE {tz1}) AS bucket_start
            FROM generate_series(
                date_trunc({unit1}, {start1}::timestamptz AT TIME ZONE {tz2}),
                ({end1}::timestamptz - interval '1 microsecond') AT TIME ZONE {tz3},
                {step}::interval
            ) AS local_start
        ),
        grouped AS (
            SELECT date_trunc({unit2}, p.t, {tz4}) AS bucket_start, {combine} AS quantity
            FROM ({parts}) AS p
            GROUP BY GROUPING SETS ((date_trunc({unit3}, p.t, {tz5})), ())
        )
        SELECT b.bucket_start, COALESCE(g.quantity, 0), 0 AS is_total
        FROM buckets b LEFT JOIN grouped g ON g.bucket_start = b.bucket_start
        UNION ALL
        SELECT NULL, COALESCE((SELECT quantity FROM grouped WHERE bucket_start IS NULL), 0), 1
        ORDER BY 3, 1
        """
    ).format(
        tz1=sql.Placeholder(),
        unit1=sql.Placeholder(),
        start1=sql.Placeholder(),
        tz2=sql.Placeholder(),
        end1=sql.Placeholder(),
        tz3=sql.Placeholder(),
        step=sql.Placeholder(),
        unit2=sql.Placeholder(),
        tz4=sql.Placeholder(),
        combine=combine,
        parts=parts,
        unit3=sql.Placeholder(),
        tz5=sql.Placeholder(),
    )
    all_params = [timezone, interval, start, timezone, end, timezone, step, interval, timezone, *params, interval, timezone]
    with connection.cursor() as cursor:
        cursor.execute(query, all_params)
        return cursor.fetchall()


# --- check ----------------------------------------------------------------------------------------------------------


def meter_rollup_check(*, meter) -> list[dict]:
    """The hours where the rollup differs from the raw aggregation of the events ingested before the watermark
    (``[]`` when they agree, or when the meter has no usable rollup). One statement per side."""
    watermark = _usable_watermark(meter)
    if watermark is None:
        return []
    value_sql, value_params = compile_value(meter.aggregation)
    filter_sql, filter_params = compile_filter(meter.filter)
    query = sql.SQL(
        """
        WITH raw AS (
            SELECT date_trunc('hour', e."timestamp", 'UTC') AS hour, e.customer_id, e.external_customer_id,
                   count(*) AS events, count({value}) AS value_count, sum({value2}) AS value_sum
            FROM billing_event e
            WHERE e.organization_id = {organization} AND e.ingested_at < {watermark} AND ({filter})
            GROUP BY 1, 2, 3
        ),
        rolled AS (
            SELECT hour, customer_id, external_customer_id, events, value_count, value_sum
            FROM billing_meter_rollup WHERE meter_id = {meter}
        ),
        raw_hours AS (
            SELECT hour, sum(events) AS events, sum(value_count) AS value_count, sum(value_sum) AS value_sum FROM raw GROUP BY 1
        ),
        hours AS (
            SELECT hour, events, value_count, value_sum FROM billing_meter_rollup_hour WHERE meter_id = {meter2}
        )
        SELECT COALESCE(raw.hour, rolled.hour), raw.events, rolled.events, raw.value_sum, rolled.value_sum
        FROM raw FULL JOIN rolled
          ON raw.hour = rolled.hour AND raw.customer_id IS NOT DISTINCT FROM rolled.customer_id
         AND raw.external_customer_id IS NOT DISTINCT FROM rolled.external_customer_id
        WHERE raw.events IS DISTINCT FROM rolled.events OR raw.value_count IS DISTINCT FROM rolled.value_count
           OR raw.value_sum IS DISTINCT FROM rolled.value_sum
        UNION ALL  -- the whole meter's hours
        SELECT COALESCE(raw_hours.hour, hours.hour), raw_hours.events, hours.events, raw_hours.value_sum, hours.value_sum
        FROM raw_hours FULL JOIN hours ON raw_hours.hour = hours.hour
        WHERE raw_hours.events IS DISTINCT FROM hours.events OR raw_hours.value_count IS DISTINCT FROM hours.value_count
           OR raw_hours.value_sum IS DISTINCT FROM hours.value_sum
        ORDER BY 1
        """
    ).format(
        value=value_sql,
        value2=value_sql,
        organization=sql.Placeholder(),
        watermark=sql.Placeholder(),
        filter=filter_sql,
        meter=sql.Placeholder(),
        meter2=sql.Placeholder(),
    )
    params = [*value_params, *value_params, meter.organization_id, watermark, *filter_params, meter.id, meter.id]
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    return [
        {"hour": hour, "raw_events": raw_events, "rollup_events": rollup_events, "raw_sum": raw_sum, "rollup_sum": rollup_sum}
        for hour, raw_events, rollup_events, raw_sum, rollup_sum in rows
    ]
