"""Organization-wide event rollups, so the event-based metrics (costs, active users: billing/analytics) read
pre-aggregated rows plus only the raw tail instead of a year of raw events.

Per organization (migration 0027):

- ``billing_event_cost_rollup``: per UTC hour and cost currency (``lower(_cost.currency)``, NULL when the event
  names none, which counts in every currency as the raw metric does): events, events with a cost, Σ cost.
- ``billing_event_activity``: per *who* (the events' ``COALESCE(customer_id::text, external_customer_id)``, as
  the raw metric counts them) and UTC month: the UTC hours with at least one event, as a ``tstzmultirange``.
  Distinct active users over any span of whole hours are the who whose hours overlap it.
- ``billing_event_activity_day``: per UTC day, the distinct active users (recomputed from the activity rows for
  each day a refresh touches), so a range of UTC days reads one row a day.
- ``billing_event_rollup_state``: the **watermark**: every event *ingested* before it is in the three tables.

``event_rollup_refresh`` (beat every minute with the meter rollups; ``manage.py event_rollups``) folds the events
ingested in ``[watermark, now − LAG)`` into the hours of their timestamps, whatever those are: late and backdated
events correct the past. ``event_activity_link`` moves an external id's activity to the customer created for it
(as ``link_events_to_customer`` moves the events). ``event_rollup_check`` compares all three with the raw events.
docs/events.md says what consistency this gives.
"""

import datetime as dt
import uuid

from django.db import connection, transaction

from billing.usage.rollups import LAG
from polar import clock

# An event's cost in cents: ``_cost.amount`` when it is a JSON number or a plain decimal string (else NULL).
EVENT_COST = """(CASE jsonb_typeof(e.metadata #> '{_cost,amount}')
    WHEN 'number' THEN (e.metadata #>> '{_cost,amount}')::numeric
    WHEN 'string' THEN (CASE WHEN e.metadata #>> '{_cost,amount}' ~ '^\\s*-?[0-9]+(\\.[0-9]+)?\\s*$'
                             THEN (e.metadata #>> '{_cost,amount}')::numeric END) END)"""
EVENT_WHO = "COALESCE(e.customer_id::text, e.external_customer_id)"
_TABLES = ("billing_event_cost_rollup", "billing_event_activity", "billing_event_activity_day")

_FOLD = f"""
WITH new AS MATERIALIZED (
    SELECT e."timestamp" AS t, {EVENT_WHO} AS who, lower(e.metadata #>> '{{_cost,currency}}') AS cost_currency,
           {EVENT_COST} AS cost
    FROM billing_event e
    WHERE e.organization_id = %(org)s AND e.ingested_at >= %(from)s AND e.ingested_at < %(to)s
),
costs AS (
    INSERT INTO billing_event_cost_rollup AS r (organization_id, hour, cost_currency, events, cost_events, cost_sum)
    SELECT %(org)s, date_trunc('hour', t, 'UTC'), cost_currency, count(*), count(cost), sum(cost)
    FROM new GROUP BY 2, 3
    ON CONFLICT ON CONSTRAINT billing_event_cost_rollup_key DO UPDATE SET
        events = r.events + EXCLUDED.events,
        cost_events = r.cost_events + EXCLUDED.cost_events,
        cost_sum = CASE WHEN r.cost_sum IS NULL THEN EXCLUDED.cost_sum
                        WHEN EXCLUDED.cost_sum IS NULL THEN r.cost_sum
                        ELSE r.cost_sum + EXCLUDED.cost_sum END
    RETURNING 1
),
activity AS (
    INSERT INTO billing_event_activity AS a (organization_id, month, who, hours)
    SELECT %(org)s, date_trunc('month', h, 'UTC'), who, range_agg(tstzrange(h, h + interval '1 hour'))
    FROM (SELECT DISTINCT who, date_trunc('hour', t, 'UTC') AS h FROM new) AS d
    GROUP BY 2, 3
    ON CONFLICT ON CONSTRAINT billing_event_activity_key DO UPDATE SET hours = a.hours + EXCLUDED.hours
    RETURNING 1
)
SELECT (SELECT count(*) FROM costs) + (SELECT count(*) FROM activity),
       ARRAY(SELECT DISTINCT date_trunc('day', t, 'UTC') FROM new)
"""

# The distinct active users of each given UTC day, from the activity rows (after they were updated).
_DAYS = """
INSERT INTO billing_event_activity_day AS d (organization_id, day, active_users)
SELECT %(org)s, day.day,
       (SELECT count(*) FROM billing_event_activity a
        WHERE a.organization_id = %(org)s AND a.month = date_trunc('month', day.day, 'UTC')
          AND a.hours && tstzrange(day.day, day.day + interval '24 hours'))
FROM unnest(%(days)s::timestamptz[]) AS day(day)
ON CONFLICT ON CONSTRAINT billing_event_activity_day_key DO UPDATE SET active_users = EXCLUDED.active_users
"""


def _lock(cursor, organization_id) -> None:
    # One refresher (or linker) per organization at a time: rows and watermark move together.
    cursor.execute("SELECT pg_advisory_xact_lock(hashtext('billing_event_rollup'), hashtext(%s))", [str(organization_id)])


def event_rollup_refresh(*, organization_id: uuid.UUID, rebuild: bool = False, now: dt.datetime | None = None) -> int:
    """Bring one organization's event rollups up to ``now − LAG``; returns the number of rows written.

    Locks the organization's rollups (an advisory lock, then the state row ``FOR UPDATE``) so concurrent refreshes
    serialise and the rows and the watermark move in one transaction: an event is never counted twice nor skipped.
    ``rebuild`` (or no state yet) deletes the rows and starts from the first event. Idempotent: a second run right
    after finds nothing new."""
    watermark_to = (now or clock.now()) - LAG
    with transaction.atomic(), connection.cursor() as cursor:
        _lock(cursor, organization_id)
        cursor.execute(
            "SELECT watermark FROM billing_event_rollup_state WHERE organization_id = %s FOR UPDATE", [organization_id]
        )
        state = cursor.fetchone()
        rebuilt = state is None or rebuild
        if rebuilt:
            for table in _TABLES:
                cursor.execute(f"DELETE FROM {table} WHERE organization_id = %s", [organization_id])
            watermark_from = dt.datetime.min.replace(tzinfo=dt.UTC)
        else:
            watermark_from = state[0]
        written = 0
        if watermark_to > watermark_from:
            params = {"org": organization_id, "from": watermark_from, "to": watermark_to}
            cursor.execute(_FOLD, params)
            written, days = cursor.fetchone()
            if days:
                cursor.execute(_DAYS, {"org": organization_id, "days": days})
                written += cursor.rowcount
        cursor.execute(
            """
            INSERT INTO billing_event_rollup_state (organization_id, watermark, rebuilt_at) VALUES (%s, %s, %s)
            ON CONFLICT (organization_id) DO UPDATE SET
                watermark = EXCLUDED.watermark,
                rebuilt_at = CASE WHEN %s THEN EXCLUDED.rebuilt_at ELSE billing_event_rollup_state.rebuilt_at END
            """,
            [organization_id, max(watermark_to, watermark_from), clock.now(), rebuilt],
        )
    return written


def event_rollups_refresh_all(*, now: dt.datetime | None = None) -> int:
    """Refresh every organization that has events (the beat task), each in its own transaction."""
    with connection.cursor() as cursor:
        # A loose index scan would be faster on huge tables; the organizations table is the short list.
        cursor.execute(
            "SELECT o.id FROM organizations_organization o WHERE EXISTS (SELECT 1 FROM billing_event e WHERE e.organization_id = o.id)"
            " ORDER BY o.id"
        )
        ids = [row[0] for row in cursor.fetchall()]
    return sum(event_rollup_refresh(organization_id=organization_id, now=now) for organization_id in ids)


def event_rollup_watermark(*, organization_id) -> dt.datetime | None:
    """The organization's watermark, or None before the first refresh (reads then use the raw events)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT watermark FROM billing_event_rollup_state WHERE organization_id = %s", [organization_id])
        row = cursor.fetchone()
    return row and row[0]


def event_activity_link(*, organization_id, customer_id, external_id: str) -> None:
    """Move the activity of events ingested under ``external_id`` to the customer ``customer_id`` (called by
    ``link_events_to_customer`` in the transaction that links the events, so raw and rollup agree on who).

    Takes the organization's rollup lock first, so a refresh never folds half-linked events; the days the moved
    hours touch are recounted (the two who may have been active the same day)."""
    if external_id == str(customer_id):  # the same who already
        return
    with connection.cursor() as cursor:
        _lock(cursor, organization_id)
        cursor.execute(
            """
            WITH moved AS (
                DELETE FROM billing_event_activity
                WHERE organization_id = %(org)s AND who = %(external)s
                RETURNING month, hours
            ),
            merged AS (
                INSERT INTO billing_event_activity AS a (organization_id, month, who, hours)
                SELECT %(org)s, month, %(customer)s, hours FROM moved
                ON CONFLICT ON CONSTRAINT billing_event_activity_key DO UPDATE SET hours = a.hours + EXCLUDED.hours
                RETURNING 1
            )
            SELECT ARRAY(SELECT DISTINCT date_trunc('day', lower(r), 'UTC') + n * interval '24 hours'
                         FROM moved, unnest(hours) AS r,
                              generate_series(0, (extract(epoch FROM upper(r) - date_trunc('day', lower(r), 'UTC'))::bigint - 1) / 86400) AS n),
                   (SELECT count(*) FROM merged)
            """,
            {"org": organization_id, "external": external_id, "customer": str(customer_id)},
        )
        days = cursor.fetchone()[0]
        if days:
            cursor.execute(_DAYS, {"org": organization_id, "days": days})


# --- check ----------------------------------------------------------------------------------------------------------

_CHECK = f"""
WITH raw AS MATERIALIZED (
    SELECT e."timestamp" AS t, {EVENT_WHO} AS who, lower(e.metadata #>> '{{_cost,currency}}') AS cost_currency,
           {EVENT_COST} AS cost
    FROM billing_event e
    WHERE e.organization_id = %(org)s AND e.ingested_at < %(watermark)s
),
raw_costs AS (
    SELECT date_trunc('hour', t, 'UTC') AS hour, cost_currency, count(*) AS events, count(cost) AS cost_events, sum(cost) AS cost_sum
    FROM raw GROUP BY 1, 2
),
costs AS (
    SELECT 'costs' AS rollup, COALESCE(r.hour, c.hour) AS at, COALESCE(r.cost_currency, c.cost_currency) AS what,
           format('%%s events, %%s cost', r.events, r.cost_sum) AS raw,
           format('%%s events, %%s cost', c.events, c.cost_sum) AS rolled
    FROM raw_costs r FULL JOIN (SELECT * FROM billing_event_cost_rollup WHERE organization_id = %(org)s) AS c
      ON r.hour = c.hour AND r.cost_currency IS NOT DISTINCT FROM c.cost_currency
    WHERE r.events IS DISTINCT FROM c.events OR r.cost_events IS DISTINCT FROM c.cost_events
       OR r.cost_sum IS DISTINCT FROM c.cost_sum
),
raw_activity AS (
    SELECT date_trunc('month', h, 'UTC') AS month, who, range_agg(tstzrange(h, h + interval '1 hour')) AS hours
    FROM (SELECT DISTINCT who, date_trunc('hour', t, 'UTC') AS h FROM raw) AS d GROUP BY 1, 2
),
activity AS (
    SELECT 'activity', COALESCE(r.month, a.month), COALESCE(r.who, a.who), r.hours::text, a.hours::text
    FROM raw_activity r FULL JOIN (SELECT * FROM billing_event_activity WHERE organization_id = %(org)s) AS a
      ON r.month = a.month AND r.who = a.who
    WHERE r.hours IS DISTINCT FROM a.hours
),
raw_days AS (
    SELECT date_trunc('day', t, 'UTC') AS day, count(DISTINCT who) AS active_users FROM raw GROUP BY 1
),
days AS (
    SELECT 'active_users', COALESCE(r.day, d.day), NULL, r.active_users::text, d.active_users::text
    FROM raw_days r FULL JOIN (SELECT * FROM billing_event_activity_day WHERE organization_id = %(org)s AND active_users > 0) AS d
      ON r.day = d.day
    WHERE r.active_users IS DISTINCT FROM d.active_users
)
SELECT * FROM costs UNION ALL SELECT * FROM activity UNION ALL SELECT * FROM days
ORDER BY 1, 2, 3
"""


def event_rollup_check(*, organization_id) -> list[dict]:
    """Where the organization's rollups differ from the raw aggregation of the events ingested before the
    watermark: ``[{"rollup", "at", "what", "raw", "rollup_value"}]`` (``[]`` when they agree or before the first
    refresh). One statement."""
    watermark = event_rollup_watermark(organization_id=organization_id)
    if watermark is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_CHECK, {"org": organization_id, "watermark": watermark})
        rows = cursor.fetchall()
    return [{"rollup": r[0], "at": r[1], "what": r[2], "raw": r[3], "rollup_value": r[4]} for r in rows]
