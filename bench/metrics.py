"""Metrics benchmark: a year of daily metrics, and a meter read through the hourly rollup beside the raw events.

    .venv/bin/python bench/metrics.py                                  # 100,000 orders, 10,000,000 events
    .venv/bin/python bench/metrics.py --events 2000000 --samples 10    # a smaller run
    .venv/bin/python bench/metrics.py --keep-db                        # reuse the loaded data, only measure

1. (re)creates ``polar_metrics_bench`` and migrates it; one organization with ``--customers`` customers, a
   10.00/month and a 30.00/month plan and a one-time product;
2. loads in SQL (``INSERT … SELECT generate_series``): subscriptions started over the ``--months`` months
   before now (a third of them ended), one renewal order a month for each while it ran (with its recurring line),
   one-time purchases up to ``--orders`` orders in all; then ``--events`` events spread uniformly over the same
   months (80 % ``api_call`` with ``tokens`` and a ``_cost``); ANALYZE;
3. builds the event rollups and the meter rollup, then times in-process (the selectors and payloads the API
   calls; no HTTP), sequentially, ``--samples`` times each:
   - a year of daily metrics for the organization (every metric; without the event-based ones; each source), the
     event source through the rollups + tail and on the raw events (``--raw-samples``; the state row removed);
   - the whole meter (``sum(tokens)`` of ``api_call``) over the last full month by day, one customer's month and
     the renewal batch's grouped read of 100 customers, through the rollup and on the raw events;
   - beside each, "PostgreSQL alone": the same SQL statements (captured with their parameters) run again over a
     plain psycopg connection, the floor with no Django or Python around them;
   and prints p50 / p95 / max of each, and checks that rollups and raw events give the same answers.
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import server_env, setup_database  # noqa: E402
from bench.meters import percentile, postgres_alone  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--raw-samples", type=int, default=3, help="samples of the slow raw-event metrics (0: skip them)")
    parser.add_argument("--no-rebuild", action="store_true", help="with --keep-db: measure the rollups already built")
    parser.add_argument("--database", default="polar_metrics_bench")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--keep-db", action="store_true")
    return parser.parse_args()


SUBSCRIPTIONS = """
INSERT INTO billing_subscription (id, created_at, organization_id, customer_id, product_id, status, amount, currency,
    recurring_interval, recurring_interval_count, current_period_start, current_period_end, billing_anchor_day,
    started_at, cancel_at_period_end, canceled_at, ended_at, discount_applied_cycles, credit_balance, metadata)
SELECT gen_random_uuid(), s.started_at, %(org)s, c.id, CASE WHEN c.n %% 4 = 0 THEN %(pro)s ELSE %(basic)s END,
       CASE WHEN s.ended_at IS NULL THEN 'active' ELSE 'canceled' END, CASE WHEN c.n %% 4 = 0 THEN 3000 ELSE 1000 END,
       'usd', 'month', 1, s.started_at, s.started_at + interval '1 month', 1, s.started_at, false,
       s.ended_at, s.ended_at, 0, 0, '{}'::jsonb
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM customers_customer WHERE organization_id = %(org)s) AS c
CROSS JOIN LATERAL (
    SELECT date_trunc('hour', %(start)s::timestamptz + (abs(hashtext(c.id::text)) %% 1000) / 1000.0 * (%(now)s::timestamptz - %(start)s::timestamptz))
           AS started_at
) AS s0
CROSS JOIN LATERAL (
    SELECT s0.started_at,
           CASE WHEN c.n %% 3 = 0 THEN s0.started_at + ((c.n %% 11) + 1) * interval '1 month' END AS ended_at
) AS s
WHERE c.n <= %(subscriptions)s AND (s.ended_at IS NULL OR s.ended_at < %(now)s)
"""

RENEWAL_ORDERS = """
WITH periods AS (
    SELECT s.id AS subscription_id, s.customer_id, s.product_id, s.amount, g AS period_start, g + interval '1 month' AS period_end,
           g = s.started_at AS first
    FROM billing_subscription s
    CROSS JOIN LATERAL generate_series(s.started_at, LEAST(COALESCE(s.ended_at, %(now)s), %(now)s) - interval '1 second', interval '1 month') AS g
    WHERE s.organization_id = %(org)s
),
numbered AS (SELECT p.*, row_number() OVER (ORDER BY period_start, subscription_id) AS n FROM periods p),
orders AS (
    INSERT INTO billing_order (id, created_at, organization_id, customer_id, product_id, subscription_id, billing_reason, status,
        currency, subtotal_amount, discount_amount, net_amount, tax_amount, total_amount, applied_balance_amount, due_amount,
        refunded_amount, refunded_tax_amount, platform_fee_amount, pricing_inputs, pricing_version, period_start, period_end,
        invoice_number, invoice_sequence, description, metadata, paid_at, payment_attempts, awaiting_fulfilment)
    SELECT gen_random_uuid(), period_start, %(org)s, customer_id, product_id, subscription_id,
           CASE WHEN first THEN 'subscription_create' ELSE 'subscription_cycle' END, 'paid', 'usd', amount, 0, amount, 0, amount, 0,
           amount, 0, 0, 0, '{}'::jsonb, 1, period_start, period_end, 'B-' || n, n, '', '{}'::jsonb, period_start, 1, false
    FROM numbered
    RETURNING id, product_id, net_amount, period_start, period_end
)
INSERT INTO billing_orderitem (id, created_at, order_id, label, amount, discount_amount, tax_amount, tax_rate_bps, proration,
    product_price_id, period_start, period_end, position)
SELECT gen_random_uuid(), o.period_start, o.id, 'plan', o.net_amount, 0, 0, 0, false,
       (SELECT p.id FROM billing_productprice p WHERE p.product_id = o.product_id LIMIT 1), o.period_start, o.period_end, 0
FROM orders o
"""

PURCHASES = """
INSERT INTO billing_order (id, created_at, organization_id, customer_id, product_id, billing_reason, status,
    currency, subtotal_amount, discount_amount, net_amount, tax_amount, total_amount, applied_balance_amount, due_amount,
    refunded_amount, refunded_tax_amount, platform_fee_amount, pricing_inputs, pricing_version,
    invoice_number, invoice_sequence, description, metadata, paid_at, payment_attempts, awaiting_fulfilment)
SELECT gen_random_uuid(), t, %(org)s, c.ids[1 + (g::bigint * 7919) %% array_length(c.ids, 1)], %(book)s, 'purchase', 'paid', 'usd',
       2500, 0, 2500, 0, 2500, 0, 2500,
       0, 0, 0, '{}'::jsonb, 1, 'P-' || g, %(offset)s + g, '', '{}'::jsonb, t, 1, false
FROM generate_series(1, %(count)s) AS g
CROSS JOIN LATERAL (SELECT %(start)s::timestamptz + (random() + g * 0) * (%(now)s::timestamptz - %(start)s::timestamptz) AS t) AS ts
CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM customers_customer WHERE organization_id = %(org)s) AS c
"""

EVENTS = """
INSERT INTO billing_event ("timestamp", id, organization_id, ingested_at, name, source, customer_id, external_customer_id, metadata)
SELECT t, gen_random_uuid(), %(org)s, %(ingested)s, CASE WHEN g %% 5 = 0 THEN 'upload' ELSE 'api_call' END, 'user',
       c.ids[1 + (g::bigint * 7919) %% array_length(c.ids, 1)], NULL,
       CASE WHEN g %% 5 = 0 THEN jsonb_build_object('tokens', g %% 4000)
            ELSE jsonb_build_object('tokens', g %% 4000, '_cost', jsonb_build_object('amount', (g %% 300) / 100.0, 'currency', 'usd')) END
FROM generate_series(%(first)s, %(last)s) AS g
CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM customers_customer WHERE organization_id = %(org)s) AS c
-- (g * 0: a lateral subquery that does not name g is evaluated once, and every event would share one instant)
CROSS JOIN LATERAL (SELECT %(start)s::timestamptz + (random() + g * 0) * (%(now)s::timestamptz - %(start)s::timestamptz) AS t) AS ts
"""


def month_start(moment: dt.datetime, back: int = 0) -> dt.datetime:
    year, month = moment.year, moment.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return dt.datetime(year, month, 1, tzinfo=dt.UTC)


def load(args, organization, products):
    from django.db import connection

    from billing.usage.partitions import ensure_months

    now = dt.datetime.now(dt.UTC)
    start = month_start(now, args.months - 1)
    ensure_months([((start.month - 1 + i) // 12 + start.year, (start.month - 1 + i) % 12 + 1) for i in range(args.months + 1)])
    # About ten paid months a subscription: what it takes to reach --orders with a fifth of them one-time purchases.
    subscriptions = min(args.customers, max(1, int(args.orders * 0.8 / 10)))
    params = {
        "org": organization.id,
        "now": now,
        "start": start,
        "customers": args.customers,
        "subscriptions": subscriptions,
        **products,
    }
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(SUBSCRIPTIONS, params)
        cursor.execute(RENEWAL_ORDERS, params)
        cursor.execute("SELECT count(*) FROM billing_order WHERE organization_id = %s", [organization.id])
        renewals = cursor.fetchone()[0]
        purchases = max(0, args.orders - renewals)
        cursor.execute(PURCHASES, {**params, "count": purchases, "offset": renewals})
    print(
        f"loaded {subscriptions:,} subscriptions, {renewals:,} renewal orders, {purchases:,} purchases in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    started = time.perf_counter()
    batch = 1_000_000
    for first in range(1, args.events + 1, batch):
        last = min(args.events, first + batch - 1)
        with connection.cursor() as cursor:
            cursor.execute(EVENTS, {**params, "first": first, "last": last, "ingested": now - dt.timedelta(hours=1)})
        print(f"  {last:,} events in {time.perf_counter() - started:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"loaded {args.events:,} events in {time.perf_counter() - started:.0f} s", flush=True)


def timed(samples, call):
    call()  # warm
    values = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        values.append((time.perf_counter() - started) * 1000)
    return values


def report(label, values):
    print(
        f"{label}: n={len(values)} p50={statistics.median(values):.1f} ms p95={percentile(values, 0.95):.1f} ms"
        f" max={max(values):.1f} ms",
        flush=True,
    )


def _without_state(table, key, value):
    """Remove a rollup's state row (so reads use the raw events); returns a function that puts it back."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE {key} = %s", [value])
        row = cursor.fetchone()
        cursor.execute(f"DELETE FROM {table} WHERE {key} = %s", [value])

    def restore():
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} VALUES ({', '.join(['%s'] * len(row))})", list(row))

    return restore


def measure(args, organization, meter):
    from billing.analytics import payloads, selectors
    from billing.analytics.definitions import METRICS
    from billing.usage import event_rollups, rollups
    from billing.usage.selectors import meter_quantities, meter_quantity_by_customer
    from billing.usage.services import meter_quantity
    from customers.models import Customer
    from polar import clock

    today = clock.now().date()
    start, end = today - dt.timedelta(days=365), today
    range_start, range_end = selectors.bucket_range(start_date=start, end_date=end, unit="day", timezone="UTC")
    scope = selectors.MetricsScope(
        organization_id=organization.id, currency="usd", timezone="UTC", unit="day", range_start=range_start,
        range_end=range_end, now=clock.now(),
    )  # fmt: skip
    everything = [m.slug for m in METRICS]
    no_events = [m.slug for m in METRICS if "events" not in m.sources]

    if not args.no_rebuild:
        started = time.perf_counter()
        event_rollups.event_rollup_refresh(organization_id=organization.id, rebuild=True)
        print(f"event rollups built in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        rollups.meter_rollup_refresh(meter=meter, rebuild=True)
        print(f"meter rollup built in {time.perf_counter() - started:.1f} s", flush=True)
    # What autovacuum does soon after a bulk write: statistics, and the visibility map that lets the months wholly
    # inside a range be read from the activity rollup's primary key alone.
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("billing_event_cost_rollup", "billing_event_activity", "billing_event_activity_day", "billing_meter_rollup",
                      "billing_meter_rollup_hour"):  # fmt: skip
            cursor.execute(f"VACUUM ANALYZE {table}")

    # A year of daily metrics: every metric, then per source; the event source through the rollups and raw.
    report("a year of daily metrics, every metric, event rollups + tail",
           timed(args.samples, lambda: payloads.metrics_response(scope=scope, slugs=everything)))  # fmt: skip
    report("a year of daily metrics, without the event-based ones",
           timed(args.samples, lambda: payloads.metrics_response(scope=scope, slugs=no_events)))  # fmt: skip
    for source, call in payloads.SOURCES.items():
        report(f"  source {source}", timed(args.samples, lambda call=call: call(scope)))
    report("  source events, PostgreSQL alone (same statements over psycopg)",
           postgres_alone(args, args.samples, lambda: selectors.event_metrics(scope)))  # fmt: skip
    report("  sources without events, PostgreSQL alone",
           postgres_alone(args, args.samples, lambda: payloads.metrics_response(scope=scope, slugs=no_events)))  # fmt: skip
    if args.raw_samples:
        through = selectors.event_metrics(scope)
        restore = _without_state("billing_event_rollup_state", "organization_id", organization.id)
        report("  source events, raw events", timed(args.raw_samples, lambda: selectors.event_metrics(scope)))
        report("a year of daily metrics, every metric, raw events",
               timed(args.raw_samples, lambda: payloads.metrics_response(scope=scope, slugs=everything)))  # fmt: skip
        raw = selectors.event_metrics(scope)
        restore()
        assert through == raw, "the event rollups and the raw events disagree"

    now = dt.datetime.now(dt.UTC)
    month = (month_start(now, 1), month_start(now, 0))
    customers = list(Customer.objects.filter(organization=organization).order_by("id")[:100])
    customer = customers[1]

    def whole():
        return meter_quantities(
            organization=organization, meter=meter, start_timestamp=month[0], end_timestamp=month[1], interval="day"
        )

    def one():
        return meter_quantity(meter=meter, customer=customer, start=month[0], end=month[1])

    def batch():  # the renewal batch's grouped read: 100 customers' month
        return meter_quantity_by_customer(meter=meter, customers=customers, start=month[0], end=month[1])

    with_rollup = (timed(args.samples, whole), timed(args.samples * 5, one), timed(args.samples, batch))
    floors = (postgres_alone(args, args.samples, whole), postgres_alone(args, args.samples * 5, one))
    answers = (whole(), one(), batch())
    restore = _without_state("billing_meter_rollup_state", "meter_id", meter.id)
    raw = (timed(args.samples, whole), timed(args.samples * 5, one), timed(args.samples, batch))
    raw_floors = (postgres_alone(args, args.samples, whole), postgres_alone(args, args.samples * 5, one))
    raw_answers = (whole(), one(), batch())
    restore()
    assert answers == raw_answers, "the meter rollup and the raw events disagree"
    report("whole meter, one month by day, rollup + tail", with_rollup[0])
    report("whole meter, one month by day, rollup + tail, PostgreSQL alone", floors[0])
    report("whole meter, one month by day, raw events", raw[0])
    report("whole meter, one month by day, raw events, PostgreSQL alone", raw_floors[0])
    report("one customer's month, rollup + tail", with_rollup[1])
    report("one customer's month, rollup + tail, PostgreSQL alone", floors[1])
    report("one customer's month, raw events", raw[1])
    report("one customer's month, raw events, PostgreSQL alone", raw_floors[1])
    report("renewal batch read, 100 customers' month, rollup + tail", with_rollup[2])
    report("renewal batch read, 100 customers' month, raw events", raw[2])
    print(f"machine at the end: load={os.getloadavg()}", flush=True)


def main():
    args = parse_args()
    print(f"machine: nproc={os.cpu_count()} load={os.getloadavg()}")
    setup_database(args)  # a fresh database unless --keep-db (bench/ingest.py), migrated
    os.environ.update(server_env(args))
    import django

    django.setup()
    from billing.catalog.services import product_create
    from billing.models import Meter, Product
    from customers.models import Customer
    from polar.organizations.services import organization_get_or_create

    organization, _ = organization_get_or_create(slug="bench", name="Bench")
    meter, _ = Meter.objects.get_or_create(
        organization=organization,
        name="tokens",
        defaults={
            "filter": {"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "api_call"}]},
            "aggregation": {"func": "sum", "property": "tokens"},
        },
    )
    if not args.keep_db:

        def product(name, amount, recurring):
            extra = {"recurring_interval": "month", "recurring_interval_count": 1} if recurring else {}
            prices = [{"amount_type": "fixed", "price_amount": amount, "price_currency": "usd"}]
            return product_create(organization=organization, name=name, prices=prices, **extra).id

        products = {
            "basic": product("Basic", 1000, True),
            "pro": product("Pro", 3000, True),
            "book": product("Book", 2500, False),
        }
        Customer.objects.bulk_create(
            [
                Customer(organization=organization, email=f"c{i}@bench.test", external_id=f"cust-{i}")
                for i in range(args.customers)
            ],
            batch_size=2000,
        )
        load(args, organization, products)
    else:
        assert Product.objects.filter(organization=organization).exists()
    measure(args, organization, meter)


if __name__ == "__main__":
    main()
