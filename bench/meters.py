"""Meter quantities benchmark: p50/p99 latency of GET /v1/meters/{id}/quantities on a large events table.

    .venv/bin/python bench/meters.py                      # 10,000,000 events, 10,000 customers
    .venv/bin/python bench/meters.py --events 1000000     # a smaller run
    .venv/bin/python bench/meters.py --keep-db            # reuse the loaded table, only measure

1. (re)creates ``polar_usage_bench_meters`` and migrates it; one organization, ``--customers`` customers;
2. loads ``--events`` events with binary COPY, spread uniformly over the ``--months`` months before now
   (one partition a month), 80 % ``api_call`` with a numeric ``tokens`` property, 20 % ``upload``; ANALYZE;
3. starts gunicorn (production settings, 1 worker: latency, not throughput) and times, sequentially:
   - one customer-month: ``interval=day`` over the last full month for a random customer (``--samples``);
   - the whole meter over that month by day (``--meter-samples``);
   and prints p50 / p99 / max of each. The meter is ``sum(tokens)`` where ``name = 'api_call'``.
4. with ``--rollup``: brings the hourly meter rollup up to date (built if it has none) and measures both calls through it, then on the raw events
   (its state removed), each followed by its PostgreSQL limit: the statements the selector runs, captured with
   their parameters and run alone over psycopg (``--database`` may name the ``bench/metrics.py`` database, which
   has the same organization, meter and customers).
"""

import argparse
import datetime as dt
import http.client
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import server_env, setup_database  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--meter-samples", type=int, default=20)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--database", default="polar_usage_bench_meters")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--rollup", action="store_true", help="measure through the hourly rollup and raw, with floors")
    return parser.parse_args()


def month_start(moment: dt.datetime, back: int = 0) -> dt.datetime:
    year, month = moment.year, moment.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return dt.datetime(year, month, 1, tzinfo=dt.UTC)


def load(args, organization, customers):
    import psycopg

    now = dt.datetime.now(dt.UTC)
    start = month_start(now, args.months - 1)
    span = (now - start).total_seconds()
    rng = random.Random(7)
    columns = '"timestamp", id, organization_id, ingested_at, name, source, customer_id, external_customer_id, metadata'
    types = ["timestamptz", "uuid", "uuid", "timestamptz", "text", "text", "uuid", "text", "jsonb"]
    started = time.perf_counter()
    with psycopg.connect(f"{args.pg}/{args.database}") as conn:
        with conn.cursor() as cursor:
            with cursor.copy(f"COPY billing_event ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for i in range(args.events):
                    customer_id, external_id = customers[rng.randrange(len(customers))]
                    api_call = i % 5 != 0
                    copy.write_row(
                        (
                            start + dt.timedelta(seconds=rng.random() * span),
                            uuid.uuid4(),
                            organization.id,
                            now,
                            "api_call" if api_call else "upload",
                            "user",
                            customer_id,
                            external_id,
                            f'{{"tokens": {rng.randrange(1, 4000)}, "model": "m{i % 4}"}}',
                        )
                    )
                    if i and i % 1_000_000 == 0:
                        print(f"  {i:,} rows in {time.perf_counter() - started:.0f} s", flush=True)
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE billing_event")
    print(f"loaded {args.events:,} events in {time.perf_counter() - started:.0f} s")


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(fraction * (len(values) - 1))))]


def postgres_alone(args, samples, call):
    """The PostgreSQL limit of ``call``: the statements it runs (captured with their parameters), run again over
    a plain psycopg connection with no Django or Python work around them, timed together (ms, after a warm run)."""
    import psycopg
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    statements = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    values = []
    with psycopg.connect(f"{args.pg}/{args.database}", autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        for sample in range(samples + 1):
            started = time.perf_counter()
            for statement in statements:
                conn.execute(statement).fetchall()
            if sample:  # the first run warms the cache
                values.append((time.perf_counter() - started) * 1000)
    return values


def measure(args, token, meter_id, customers):
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "polar.wsgi:application",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=server_env(args),
    )
    now = dt.datetime.now(dt.UTC)
    last_month = (month_start(now, 1), month_start(now, 0))
    headers = {"Authorization": f"Bearer {token}"}
    try:
        for _ in range(100):
            try:
                probe = http.client.HTTPConnection("127.0.0.1", args.port, timeout=2)
                probe.request("GET", "/healthz")
                probe.getresponse().read()
                break
            except OSError:
                time.sleep(0.2)

        def get(params):
            query = urllib.parse.urlencode(params, doseq=True)
            connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=120)
            started = time.perf_counter()
            connection.request("GET", f"/v1/meters/{meter_id}/quantities?{query}", headers=headers)
            response = connection.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - started
            assert response.status == 200, body[:300]
            return elapsed * 1000

        base = {
            "start_timestamp": last_month[0].isoformat(),
            "end_timestamp": last_month[1].isoformat(),
            "interval": "day",
            "timezone": "UTC",
        }
        rng = random.Random(11)
        get(dict(base, customer_id=str(customers[0][0])))  # warm the worker
        per_customer = [
            get(dict(base, customer_id=str(customers[rng.randrange(len(customers))][0]))) for _ in range(args.samples)
        ]
        whole = [get(base) for _ in range(args.meter_samples)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    for label, values in (("one customer-month, by day", per_customer), ("whole meter, one month by day", whole)):
        print(
            f"{label}: n={len(values)} p50={statistics.median(values):.1f} ms"
            f" p99={percentile(values, 0.99):.1f} ms max={max(values):.1f} ms"
        )


def main():
    args = parse_args()
    print(f"machine: nproc={os.cpu_count()} load={os.getloadavg()}")
    setup_database(args)  # a fresh database unless --keep-db (bench/ingest.py), migrated
    os.environ.update(server_env(args))
    import django

    django.setup()
    from billing.models import Meter
    from billing.usage.partitions import ensure_months
    from customers.models import Customer
    from polar.organizations.services import access_token_create, organization_get_or_create

    organization, _ = organization_get_or_create(slug="bench", name="Bench")
    _row, token = access_token_create(organization=organization, comment="bench")
    meter, _ = Meter.objects.get_or_create(
        organization=organization,
        name="tokens",
        defaults={
            "filter": {"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "api_call"}]},
            "aggregation": {"func": "sum", "property": "tokens"},
        },
    )
    if not args.keep_db:
        Customer.objects.bulk_create(
            [
                Customer(organization=organization, email=f"c{i}@bench.test", external_id=f"cust-{i}")
                for i in range(args.customers)
            ],
            batch_size=2000,
        )
        now = dt.datetime.now(dt.UTC)
        ensure_months(sorted({(month_start(now, back).year, month_start(now, back).month) for back in range(args.months)}))
    customers = list(Customer.objects.filter(organization=organization).values_list("id", "external_id"))
    if not args.keep_db:
        load(args, organization, customers)
    if args.rollup:
        measure_with_rollup(args, token, meter, organization, customers)
    else:
        measure(args, token, meter.id, customers)


def measure_with_rollup(args, token, meter, organization, customers):
    """The same calls through the hourly rollup (built first) and on the raw events (its state removed), each
    beside its PostgreSQL limit: the statements the selector runs, alone over psycopg."""
    from django.db import connection

    from billing.usage import rollups
    from billing.usage.selectors import meter_quantities

    started = time.perf_counter()
    rollups.meter_rollup_refresh(meter=meter)  # built from the first event if it has no usable state yet
    print(f"rollup refreshed in {time.perf_counter() - started:.1f} s", flush=True)
    now = dt.datetime.now(dt.UTC)
    month = (month_start(now, 1), month_start(now, 0))
    customer = customers[0][0]

    def whole():
        meter_quantities(organization=organization, meter=meter, start_timestamp=month[0], end_timestamp=month[1], interval="day")

    def one():
        meter_quantities(
            organization=organization, meter=meter, start_timestamp=month[0], end_timestamp=month[1], interval="day",
            customer_ids=[customer],
        )  # fmt: skip

    def floors(label):
        for name, call, samples in (("whole meter", whole, args.meter_samples), ("one customer-month", one, args.samples)):
            values = postgres_alone(args, samples, call)
            print(f"{name}, {label}, PostgreSQL alone: n={len(values)} p50={statistics.median(values):.1f} ms"
                  f" p99={percentile(values, 0.99):.1f} ms max={max(values):.1f} ms")  # fmt: skip

    print("through the rollup + tail (HTTP):", flush=True)
    measure(args, token, meter.id, customers)
    floors("rollup + tail")
    with connection.cursor() as cursor:
        cursor.execute("SELECT definition, watermark, rebuilt_at FROM billing_meter_rollup_state WHERE meter_id = %s", [meter.id])
        state = cursor.fetchone()
        cursor.execute("DELETE FROM billing_meter_rollup_state WHERE meter_id = %s", [meter.id])
    try:
        print("on the raw events (HTTP):", flush=True)
        measure(args, token, meter.id, customers)
        floors("raw events")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO billing_meter_rollup_state VALUES (%s, %s, %s, %s)", [meter.id, *state])
    print(f"machine at the end: load={os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
