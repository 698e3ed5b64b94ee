"""The event-based metrics (costs, active users) read from the organization's event rollups plus the raw tail
(billing/usage/event_rollups.py): the same figures as the raw statement in ``selectors``, without reading a year of
raw events.

- Costs: the hourly cost rows of the range (whose cost currency is the scope's, or none), plus the events ingested
  since the watermark, each put in its bucket.
- Active users per bucket: per UTC day, the day rows (distinct who that day) plus the who of the tail not already
  counted that day; any other grid (another time zone, weeks, months, hours) counts the who whose active hours
  overlap each bucket, plus the tail's. Over the whole range: the who whose hours overlap it, with the tail's.

The rollups hold UTC hours, so ``selectors`` uses this only when every bucket boundary is a UTC hour, and the raw
statement when the query is for some customers (their events are few and indexed)."""

from billing.analytics.buckets import BUCKETS_CTE, bucket_key
from billing.usage.event_rollups import EVENT_COST, EVENT_WHO

_TAIL = f"""
tail AS MATERIALIZED (
    SELECT e."timestamp" AS t, {EVENT_WHO} AS who,
           CASE WHEN lower(COALESCE(e.metadata #>> '{{_cost,currency}}', %(currency)s)) = %(currency)s THEN {EVENT_COST} END AS cost
    FROM billing_event e
    WHERE e.organization_id = %(org)s AND e.ingested_at >= %(watermark)s
      AND e."timestamp" >= %(range_start)s AND e."timestamp" < %(range_end)s
),
costs AS (
    SELECT {bucket_key("p.t")} AS bucket_start, sum(p.cost) AS costs
    FROM (
        SELECT r.hour AS t, r.cost_sum AS cost FROM billing_event_cost_rollup r
        WHERE r.organization_id = %(org)s AND r.hour >= %(range_start)s AND r.hour < %(range_end)s
          AND (r.cost_currency IS NULL OR r.cost_currency = %(currency)s)
        UNION ALL
        SELECT t, cost FROM tail
    ) AS p
    GROUP BY 1
),
-- Over the whole range: a row of a month wholly inside it is activity inside it (read from the primary key
-- alone); only the months at its edges need their hours compared.
months AS (
    SELECT date_trunc('month', %(range_start)s::timestamptz, 'UTC') AS first_month,
           date_trunc('month', %(range_end)s::timestamptz, 'UTC') AS last_month
),
range_active AS (
    SELECT count(*) AS n FROM (
        SELECT a.who FROM billing_event_activity a, months m
        WHERE a.organization_id = %(org)s AND a.month > m.first_month AND a.month < m.last_month
        UNION
        SELECT a.who FROM billing_event_activity a, months m
        WHERE a.organization_id = %(org)s AND a.month IN (m.first_month, m.last_month)
          AND a.hours && tstzrange(%(range_start)s, %(range_end)s)
        UNION
        SELECT who FROM tail
    ) AS w
)"""

_SELECT = """
SELECT b.idx, COALESCE(c.costs, 0) AS costs, COALESCE(sum(c.costs) OVER w, 0) AS cumulative_costs,
       COALESCE(a.active_user_by_event, 0)::bigint AS active_user_by_event,
       (SELECT n FROM range_active) AS range_active_users
FROM buckets b
LEFT JOIN costs c ON c.bucket_start = b.bucket_start
LEFT JOIN active a ON a.bucket_start = b.bucket_start
WINDOW w AS (ORDER BY b.idx)
ORDER BY b.idx
"""

# Buckets that are UTC days: one row a day, and the tail's (day, who) the rollup does not hold yet.
EVENTS_UTC_DAYS = f"""
WITH {BUCKETS_CTE},
{_TAIL},
tail_new AS (
    SELECT DISTINCT date_trunc('day', tw.t, 'UTC') AS day, tw.who FROM tail tw
    WHERE NOT EXISTS (
        SELECT 1 FROM billing_event_activity a
        WHERE a.organization_id = %(org)s AND a.month = date_trunc('month', tw.t, 'UTC') AND a.who = tw.who
          AND a.hours && tstzrange(date_trunc('day', tw.t, 'UTC'), date_trunc('day', tw.t, 'UTC') + interval '24 hours'))
),
active AS (
    SELECT day AS bucket_start, sum(n) AS active_user_by_event FROM (
        SELECT d.day, d.active_users AS n FROM billing_event_activity_day d
        WHERE d.organization_id = %(org)s AND d.day >= %(range_start)s AND d.day < %(range_end)s
        UNION ALL
        SELECT day, 1 FROM tail_new
    ) AS x
    GROUP BY 1
)
{_SELECT}"""

# Any other grid of whole UTC hours: the who whose active hours overlap each bucket.
EVENTS_ANY_GRID = f"""
WITH {BUCKETS_CTE},
{_TAIL},
active AS (
    SELECT bucket_start, count(*) AS active_user_by_event FROM (
        SELECT b.bucket_start, a.who
        FROM buckets b JOIN billing_event_activity a
          ON a.organization_id = %(org)s
         AND a.month >= date_trunc('month', b.bucket_start, 'UTC') AND a.month < b.bucket_end
         AND a.hours && tstzrange(b.bucket_start, b.bucket_end)
        UNION
        SELECT {bucket_key("t")}, who FROM tail
    ) AS w
    GROUP BY 1
)
{_SELECT}"""
