"""Ingestion benchmark: events/s through the public API beside raw COPY of the same rows, same table, same run.

    .venv/bin/python bench/ingest.py                      # 1,000,000 events, batches of 1,000
    .venv/bin/python bench/ingest.py --events 100000      # a smaller run

What it does:
1. (re)creates the database ``polar_usage_bench`` (``--database``) and migrates it;
2. creates an organization, a token and ``--customers`` customers with external ids;
3. builds every request body up front (so the client measures the server, not JSON encoding);
4. raw COPY: writes the same rows with ``COPY billing_event ... FROM STDIN (FORMAT BINARY)`` on one
   connection and times it; then empties the tables so both runs start from an empty table;
5. starts gunicorn with production settings (DEBUG off, INFO request logs off), and sends the batches from
   ``--clients`` concurrent client threads (spread over ``--client-processes`` processes); every event has a
   unique ``external_id``, so the idempotency guard is exercised on every row;
6. checks that the table holds exactly the events sent, empties it, times COPY once more, and prints the
   rates and the ratio of the API rate to the better COPY rate (the machine may be shared).
"""

import argparse
import datetime as dt
import http.client
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (4 measured best on 2 cores)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client connections in total")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database", default="polar_usage_bench")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL without database")
    parser.add_argument("--keep-db", action="store_true", help="do not recreate the database")
    return parser.parse_args()


def setup_database(args):
    import psycopg

    if not args.keep_db:
        with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{args.database}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, env=server_env(args))


def server_env(args):
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{args.pg}/{args.database}",
        DJANGO_SETTINGS_MODULE="polar.settings.production",
        DJANGO_SECRET_KEY="bench-" + "x" * 50,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_DEBUG="false",
        LOG_LEVEL="WARNING",
        DATABASE_CONN_MAX_AGE="600",
        # Production settings require these; the benchmark measures throughput, so no rate limits.
        POLAR_PUBLIC_BASE_URL="https://bench.invalid",
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/8"),
        RATE_LIMITS_ENABLED="false",
    )
    return env


def make_tenant(args):
    os.environ.update(server_env(args))
    import django

    django.setup()
    from customers.models import Customer
    from polar.organizations.services import access_token_create, organization_get_or_create

    organization, _ = organization_get_or_create(slug="bench", name="Bench")
    _row, token = access_token_create(organization=organization, comment="bench")
    Customer.objects.bulk_create(
        [Customer(organization=organization, email=f"c{i}@bench.test", external_id=f"cust-{i}") for i in range(args.customers)],
        ignore_conflicts=True,
    )
    customers = dict(Customer.objects.filter(organization=organization).values_list("external_id", "id"))
    return organization, token, customers


def make_events(args):
    """The rows both runs write: names, customers, timestamps in the last hour, small numeric metadata."""
    rng = random.Random(42)
    now = dt.datetime.now(dt.UTC)
    models = ["gpt-4o", "gpt-4o-mini", "claude", "llama"]
    events = []
    for i in range(args.events):
        events.append(
            {
                "name": "api_call" if i % 5 else "upload",
                "external_customer_id": f"cust-{rng.randrange(args.customers)}",
                "external_id": f"evt-{i}",
                "timestamp": (now - dt.timedelta(seconds=rng.randrange(3600))).isoformat(),
                "metadata": {"tokens": rng.randrange(1, 4000), "model": models[i % 4]},
            }
        )
    return events


def run_copy(args, organization, customers, events) -> float:
    import orjson
    import psycopg

    rows = []
    ingested_at = dt.datetime.now(dt.UTC)
    for event in events:
        rows.append(
            (
                uuid.uuid4(),
                organization.id,
                dt.datetime.fromisoformat(event["timestamp"]),
                ingested_at,
                event["name"],
                "user",
                customers[event["external_customer_id"]],
                event["external_customer_id"],
                event["external_id"],
                None,
                orjson.dumps(event["metadata"]).decode(),
            )
        )
    columns = 'id, organization_id, "timestamp", ingested_at, name, source, customer_id, external_customer_id, external_id, parent_id, metadata'
    types = ["uuid", "uuid", "timestamptz", "timestamptz", "text", "text", "uuid", "text", "text", "text", "jsonb"]
    with psycopg.connect(f"{args.pg}/{args.database}") as conn:
        with conn.cursor() as cursor:
            started = time.perf_counter()
            with cursor.copy(f"COPY billing_event ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
            conn.commit()
            elapsed = time.perf_counter() - started
            cursor.execute("SELECT count(*) FROM billing_event")
            assert cursor.fetchone()[0] == len(rows)
            cursor.execute("TRUNCATE billing_event, billing_event_external_id")
            conn.commit()
            cursor.execute("CHECKPOINT")
    return elapsed


def _client_process(port, token, bodies, threads, results):
    lock = threading.Lock()
    queue = list(range(len(bodies)))
    totals = {"inserted": 0, "duplicates": 0, "errors": 0}
    import orjson

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Connection": "keep-alive"}
        while True:
            with lock:
                if not queue:
                    break
                index = queue.pop()
            for _attempt in range(3):
                try:
                    connection.request("POST", "/v1/events/ingest", body=bodies[index], headers=headers)
                    response = connection.getresponse()
                    payload = response.read()
                    break
                except (ConnectionError, http.client.HTTPException):
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            else:
                raise RuntimeError("request failed three times")
            with lock:
                if response.status == 200:
                    body = orjson.loads(payload)
                    totals["inserted"] += body["inserted"]
                    totals["duplicates"] += body["duplicates"]
                else:
                    totals["errors"] += 1
                    if totals["errors"] < 3:
                        print("error", response.status, payload[:300], file=sys.stderr)
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    results.put(totals)


def run_api(args, token, events) -> tuple[float, dict]:
    import orjson

    bodies = [orjson.dumps({"events": events[i : i + args.batch]}) for i in range(0, len(events), args.batch)]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "polar.wsgi:application",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{args.port}",
            "--worker-class",
            "sync",
            "--keep-alive",
            "5",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=server_env(args),
    )
    try:
        for _ in range(100):
            try:
                probe = http.client.HTTPConnection("127.0.0.1", args.port, timeout=2)
                probe.request("GET", "/healthz")
                probe.getresponse().read()
                break
            except OSError:
                time.sleep(0.2)
        # Warm every worker (imports, connections) before timing.
        warm = http.client.HTTPConnection("127.0.0.1", args.port)
        for _ in range(args.workers * 3):
            warm.request("GET", "/v1/events/?limit=1", headers={"Authorization": f"Bearer {token}"})
            warm.getresponse().read()
        warm.close()
        results = multiprocessing.Queue()
        chunks = [bodies[i :: args.client_processes] for i in range(args.client_processes)]
        threads = max(1, args.clients // args.client_processes)
        processes = [
            multiprocessing.Process(target=_client_process, args=(args.port, token, chunk, threads, results)) for chunk in chunks
        ]
        started = time.perf_counter()
        for process in processes:
            process.start()
        totals = {"inserted": 0, "duplicates": 0, "errors": 0}
        for _ in processes:
            for key, value in results.get().items():
                totals[key] += value
        for process in processes:
            process.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    return elapsed, totals


def main():
    args = parse_args()
    print(f"machine: nproc={os.cpu_count()}  load={os.getloadavg()}")
    setup_database(args)
    organization, token, customers = make_tenant(args)
    events = make_events(args)
    copy_seconds = run_copy(args, organization, customers, events)
    copy_rate = len(events) / copy_seconds
    print(f"raw COPY (binary, one connection): {len(events):,} rows in {copy_seconds:.2f} s = {copy_rate:,.0f} rows/s")
    api_seconds, totals = run_api(args, token, events)
    api_rate = totals["inserted"] / api_seconds
    print(
        f"API: {totals['inserted']:,} inserted, {totals['duplicates']:,} duplicates, {totals['errors']} errors"
        f" in {api_seconds:.2f} s = {api_rate:,.0f} events/s"
        f" ({args.workers} gunicorn workers, {args.clients} clients, batches of {args.batch})"
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT external_id) FROM billing_event")
        stored, distinct = cursor.fetchone()
        cursor.execute("TRUNCATE billing_event, billing_event_external_id")
    print(f"stored: {stored:,} events, {distinct:,} distinct external ids")
    # The machine is shared: COPY is timed again after the API run (into an empty table again), and the
    # ratio is taken against the faster of the two COPY runs, so a noisy neighbour cannot flatter it.
    copy_seconds_after = run_copy(args, organization, customers, events)
    copy_rate_after = len(events) / copy_seconds_after
    print(f"raw COPY again after the API run: {copy_rate_after:,.0f} rows/s")
    print(f"ratio API / best COPY: {api_rate / max(copy_rate, copy_rate_after):.2f}")
    ok = stored == len(events) == distinct and totals["errors"] == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
