"""Renewals benchmark: N due subscriptions (a fixed and a metered price, E events each) renewed by two
real Celery worker processes against PostgreSQL and Redis, end to end (sweep → batch tasks → orders →
sandbox charges → paid), beside, in the same run, the time of N bare ORM order inserts in one
transaction and the raw-PostgreSQL limit (N complete order rows in one COPY).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/polar_renewals_bench REDIS_URL=redis://127.0.0.1:6379/8 \
        .venv/bin/python bench/renewals.py --subscriptions 10000 --events 100 --workers 2

The database named in DATABASE_URL is dropped and recreated (it must not be a database you care about).
Rows are seeded directly (bulk inserts) except the catalog, which goes through the services; events go
through ``events_ingest``. Prints one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polar.settings.base")
os.environ.setdefault("POLAR_DEVELOPMENT", "1")  # base settings with the development key


def recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if not name.endswith("_bench"):
        raise SystemExit(f"refusing to drop {name!r}: the benchmark database name must end with _bench")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(n: int, events_per: int, due_at: dt.datetime) -> dict:
    from django.db import transaction

    from billing.catalog.services import product_create
    from billing.models import Meter, PaymentMethod, SandboxPaymentMethod, Subscription, SubscriptionPrice
    from billing.payments.services import payment_method_attach
    from billing.usage.services import events_ingest
    from customers.models import Customer
    from polar import clock
    from polar.organizations.models import Organization

    org = Organization.objects.create(name="Bench", slug="bench")
    meter = Meter.objects.create(
        organization=org,
        name="API calls",
        filter={"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "api_call"}]},
        aggregation={"func": "count"},
    )
    product = product_create(
        organization=org,
        name="API plan",
        recurring_interval="month",
        recurring_interval_count=1,
        prices=[
            {"amount_type": "fixed", "price_amount": 1000, "price_currency": "usd"},
            {"amount_type": "metered_unit", "price_currency": "usd", "meter_id": str(meter.id), "unit_amount": "0.5"},
        ],
    )
    prices = list(product.all_prices.filter(is_archived=False).order_by("created_at"))
    template_customer = Customer.objects.create(organization=org, email="template@bench.example", name="Template")
    template = payment_method_attach(customer=template_customer, token="pm_card_visa", set_default=True)
    template_sandbox = SandboxPaymentMethod.objects.get(ref=template.processor_ref)

    period_end = due_at - dt.timedelta(seconds=1)
    period_start = period_end - dt.timedelta(days=30)
    t = time.perf_counter()
    with transaction.atomic():
        customers = Customer.objects.bulk_create(
            [Customer(organization=org, email=f"c{i}@bench.example", name=f"Customer {i}") for i in range(n)], batch_size=2000
        )
        sandbox_methods, methods = [], []
        for c in customers:
            ref = f"pm_bench_{uuid.uuid4().hex[:24]}"
            sandbox_methods.append(
                SandboxPaymentMethod(
                    ref=ref,
                    customer_ref=str(c.id),
                    behaviour=template_sandbox.behaviour,
                    brand=template_sandbox.brand,
                    last4=template_sandbox.last4,
                    exp_month=template_sandbox.exp_month,
                    exp_year=template_sandbox.exp_year,
                )
            )
            methods.append(
                PaymentMethod(
                    organization=org,
                    customer=c,
                    processor=template.processor,
                    processor_ref=ref,
                    type=template.type,
                    brand=template.brand,
                    last4=template.last4,
                    exp_month=template.exp_month,
                    exp_year=template.exp_year,
                )
            )
        SandboxPaymentMethod.objects.bulk_create(sandbox_methods, batch_size=2000)
        PaymentMethod.objects.bulk_create(methods, batch_size=2000)
        for c, m in zip(customers, methods):
            c.default_payment_method_id = m.id
        Customer.objects.bulk_update(customers, ["default_payment_method_id"], batch_size=2000)
        subscriptions = Subscription.objects.bulk_create(
            [
                Subscription(
                    organization=org,
                    customer=c,
                    product=product,
                    status="active",
                    amount=1000,
                    currency="usd",
                    recurring_interval="month",
                    recurring_interval_count=1,
                    current_period_start=period_start,
                    current_period_end=period_end,
                    billing_anchor_day=period_start.day,
                    started_at=period_start,
                    payment_method=m,
                )
                for c, m in zip(customers, methods)
            ],
            batch_size=2000,
        )
        SubscriptionPrice.objects.bulk_create(
            [SubscriptionPrice(subscription=s, product_price=p) for s in subscriptions for p in prices], batch_size=4000
        )
    seed_rows_s = time.perf_counter() - t

    t = time.perf_counter()
    batch, total = [], 0
    span = (period_end - period_start).total_seconds()
    with clock.freeze(due_at):
        for i, c in enumerate(customers):
            cid = str(c.id)
            for k in range(events_per):
                at = period_start + dt.timedelta(seconds=(k + 1) * span / (events_per + 1))
                batch.append({"name": "api_call", "customer_id": cid, "timestamp": at.isoformat(), "external_id": f"{i}-{k}"})
                if len(batch) == 1000:
                    total += events_ingest(organization=org, events=batch)["inserted"]
                    batch = []
        if batch:
            total += events_ingest(organization=org, events=batch)["inserted"]
    events_s = time.perf_counter() - t
    return {
        "organization": org,
        "product": product,
        "customers": customers,
        "seed_rows_s": seed_rows_s,
        "events": total,
        "events_s": events_s,
    }


def bare_order_inserts(n: int, seeded: dict) -> float:
    """N ``Order`` inserts (one INSERT each, as the renewal does) in one transaction, rolled back."""
    from django.db import transaction

    from billing.models import Order

    org, product, customers = seeded["organization"], seeded["product"], seeded["customers"]
    now = dt.datetime.now(dt.UTC)

    class Rollback(Exception):
        pass

    t = time.perf_counter()
    try:
        with transaction.atomic():
            for i in range(n):
                Order.objects.create(
                    organization=org,
                    customer=customers[i % len(customers)],
                    product=product,
                    billing_reason="purchase",
                    currency="usd",
                    subtotal_amount=1000,
                    net_amount=1000,
                    total_amount=1000,
                    due_amount=1000,
                    pricing_inputs={},
                    invoice_number=f"BARE-{i}",
                    invoice_sequence=10_000_000 + i,
                    period_start=now,
                )
            elapsed = time.perf_counter() - t
            raise Rollback
    except Rollback:
        pass
    return elapsed


def raw_order_copy(n: int, seeded: dict) -> float:
    """The raw-PostgreSQL limit: N complete ``billing_order`` rows (every column, as the ORM writes them)
    sent with one ``COPY`` in one transaction, rolled back. No ORM, no audit, no index-free shortcut."""
    from django.db import connection, transaction

    from billing.models import Order

    org, product, customers = seeded["organization"], seeded["product"], seeded["customers"]
    now = dt.datetime.now(dt.UTC)
    fields = [f for f in Order._meta.concrete_fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    rows = []
    for i in range(n):
        order = Order(
            organization=org,
            customer=customers[i % len(customers)],
            product=product,
            billing_reason="purchase",
            currency="usd",
            subtotal_amount=1000,
            net_amount=1000,
            total_amount=1000,
            due_amount=1000,
            pricing_inputs={},
            invoice_number=f"RAW-{i}",
            invoice_sequence=20_000_000 + i,
            period_start=now,
            created_at=now,
        )
        rows.append([f.get_db_prep_save(getattr(order, f.attname), connection) for f in fields])

    class Rollback(Exception):
        pass

    t = time.perf_counter()
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                with cursor.cursor.copy(f"COPY billing_order ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            elapsed = time.perf_counter() - t
            raise Rollback
    except Rollback:
        pass
    return elapsed


def start_workers(count: int, db_url: str, redis_url: str, pool: str) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "polar.settings.base",
        "POLAR_DEVELOPMENT": "1",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "LOG_LEVEL": "WARNING",
    }
    procs = []
    for i in range(count):
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "polar",
            "worker",
            "-P",
            pool,
            "-c",
            "1",
            "-n",
            f"bench{i}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "WARNING",
        ]
        procs.append(
            subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=env,
                start_new_session=True,
                stdout=open(f"/tmp/bench_renewals_worker{i}.log", "w"),
                stderr=subprocess.STDOUT,
            )
        )
    return procs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=100, help="events per subscription in the closed period")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool", default="solo", help="Celery pool of each worker process (solo: one process each)")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()

    db_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/polar_renewals_bench")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/8")
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = db_url, redis_url
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    recreate_database(db_url)
    setup_django()

    import redis
    from django.db import connection

    from billing.models import Order, Payment
    from billing.renewals.sweep import renewals_sweep

    redis.Redis.from_url(redis_url).delete("celery", "unacked", "unacked_index")
    due_at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    seeded = seed(args.subscriptions, args.events, due_at)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    bare_s = bare_order_inserts(args.subscriptions, seeded)
    raw_s = raw_order_copy(args.subscriptions, seeded)

    workers = start_workers(args.workers, db_url, redis_url, args.pool)
    try:
        time.sleep(3)  # workers connect; not counted
        t0 = time.perf_counter()
        enqueued = renewals_sweep(batch_size=1000, max_batches=args.subscriptions // 1000 + 2)
        enqueue_s = time.perf_counter() - t0
        done = 0
        deadline = t0 + args.timeout
        while time.perf_counter() < deadline:
            done = Order.objects.filter(billing_reason="subscription_cycle", status="paid").count()
            if done >= args.subscriptions:
                break
            time.sleep(0.25)
        elapsed = time.perf_counter() - t0
    finally:
        for proc in workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    orders = Order.objects.filter(billing_reason="subscription_cycle")
    result = {
        "subscriptions": args.subscriptions,
        "events_per_subscription": args.events,
        "events_ingested": seeded["events"],
        "workers": args.workers,
        "pool": args.pool,
        "enqueued": enqueued,
        "enqueue_s": round(enqueue_s, 3),
        "renewed_and_paid": done,
        "cycle_orders": orders.count(),
        "distinct_subscriptions_renewed": orders.values("subscription_id").distinct().count(),
        "succeeded_payments": Payment.objects.filter(order__billing_reason="subscription_cycle", status="succeeded").count(),
        "renewals_s": round(elapsed, 2),
        "renewals_per_s": round(done / elapsed, 1),
        "bare_order_inserts_s": round(bare_s, 3),
        "bare_order_inserts_per_s": round(args.subscriptions / bare_s, 1),
        "raw_order_copy_s": round(raw_s, 3),
        "raw_order_copy_per_s": round(args.subscriptions / raw_s, 1),
        "sample_order_total": orders.first().total_amount if orders.exists() else None,
        "seed_rows_s": round(seeded["seed_rows_s"], 1),
        "events_ingest_s": round(seeded["events_s"], 1),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
