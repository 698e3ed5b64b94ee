"""Soak (issue 21 part 5): mixed traffic (ingestion, reads, checkouts, refunds: bench/locustfile.py) for
``--minutes`` against gunicorn, a Celery worker and beat on loopback, with p50/p99 per endpoint, the error rate,
and the memory (RSS) of every process sampled through the run.

    .venv/bin/python bench/soak.py                    # make soak: 10 minutes, 6 simulated merchants
    .venv/bin/python bench/soak.py --minutes 1 --users 3

What it does:
1. starts a PostgreSQL and a Redis of its own under a temporary directory (scripts/devservices.py), migrates,
   writes the beat schedule, and seeds one organization (bench/api.py's seed: products, customers with a card
   and a subscription each, so paid orders exist to refund; and a one-time product for the checkouts) with a
   webhook endpoint on a loopback receiver, so every order and refund also makes deliveries;
2. starts gunicorn (production settings, 2 sync workers, rate limits on), a Celery worker (prefork, 2) and beat;
3. runs Locust headless for ``--minutes`` with ``--users`` merchants (each waits 0.2 to 1 s between calls);
4. samples the RSS of each process (gunicorn master and workers, Celery main and pool, beat) every 15 s;
5. prints per endpoint: requests, failures, p50, p99 (Locust's figures), the error rate, the RSS of each
   process at the start, each quarter and the end, the webhooks delivered, and the load average.
The machine may be shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.chaos import Processes, Receiver  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, Locust CSV)")
    return parser.parse_args()


def say(message: str) -> None:
    print(f"soak: {message}", flush=True)


def seed(workdir: Path, customers: int, receiver: Receiver, pg_port: int) -> Path:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("sync_periodic_tasks", verbosity=0)
    from bench.api import seed as api_seed
    from billing.catalog.services import product_create
    from billing.models import Order
    from customers.models import Customer
    from polar.audit import system_actor
    from polar.webhooks.events import WebhookEventType
    from polar.webhooks.services import webhook_endpoint_create

    with system_actor("soak"):
        # bench/api.py's seed exports its server environment first: point it at this run's servers.
        pg = f"postgres://postgres@127.0.0.1:{pg_port}"
        ids = api_seed(argparse.Namespace(products=5, customers=customers, port=0, workers=2, pg=pg, database="polar"))
        organization_id = ids["organization_id"]
        from polar.organizations.models import Organization

        organization = Organization.objects.get(pk=organization_id)
        one_time = product_create(
            organization=organization,
            name="Soak one-time",
            recurring_interval=None,
            prices=[{"amount_type": "fixed", "price_amount": 500, "price_currency": "usd"}],
        )
        endpoint = webhook_endpoint_create(
            organization=organization, url=receiver.url, events=[event_type.value for event_type in WebhookEventType]
        )
    receiver.secret = endpoint.secret
    customer_rows = list(Customer.objects.filter(organization=organization).values_list("id", "external_id"))
    context = {
        "token": ids["token"],
        "customer_ids": [str(pk) for pk, _ in customer_rows],
        "external_ids": [external for _, external in customer_rows if external],
        "order_ids": [
            str(pk) for pk in Order.objects.filter(organization=organization, status="paid").values_list("id", flat=True)
        ],
        "one_time_product_id": str(one_time.id),
    }
    path = workdir / "context.json"
    path.write_text(json.dumps(context))
    return path


def rss_by_process(processes: Processes) -> dict[str, float]:
    """MB per process, named by role: web master, web worker 1.., worker main, worker pool 1.., beat."""
    import psutil

    sizes = {}
    for name, process in processes.running.items():
        try:
            parent = psutil.Process(process.pid)
            children = parent.children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        role = {"web": "gunicorn", "worker": "celery worker", "beat": "celery beat"}[name]
        sizes[f"{role} main"] = parent.memory_info().rss / 2**20
        for index, child in enumerate(sorted(children, key=lambda c: c.pid), start=1):
            try:
                sizes[f"{role} child {index}"] = child.memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                pass
    return sizes


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="chaos_soak_"))
    os.environ["POLAR_DATA_DIR"] = str(workdir)
    sys.path.insert(0, str(ROOT / "scripts"))
    import devservices

    processes = None
    try:
        pg_port = devservices.pg_start()
        devservices.pg_ensure_database(pg_port)
        redis_port = devservices.redis_start()
        web_port = devservices.free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "polar.settings.production",
            "DJANGO_SECRET_KEY": "soak-" + "x" * 50,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_DEBUG": "false",
            "POLAR_PUBLIC_BASE_URL": "https://soak.invalid",
            "DATABASE_URL": devservices.pg_url(pg_port),
            "DATABASE_CONN_MAX_AGE": "600",
            "REDIS_URL": devservices.redis_url(redis_port),
            "WEBHOOKS_ALLOW_LOOPBACK": "true",
            "LOG_LEVEL": "WARNING",
            "GUNICORN_BIND": f"127.0.0.1:{web_port}",
            "GUNICORN_WORKERS": "2",
            "GUNICORN_LOG_LEVEL": "warning",
        }
        os.environ.update(env)
        receiver = Receiver()
        say(f"servers of this run: PostgreSQL 127.0.0.1:{pg_port}, Redis 127.0.0.1:{redis_port} (under {workdir})")
        context_path = seed(workdir, args.customers, receiver, pg_port)
        processes = Processes(workdir, env, web_port)
        for name in ("web", "worker", "beat"):
            processes.start(name)
        processes.wait_for_web()
        time.sleep(5)  # let the worker and beat finish importing: their start is not the soak
        samples: list[tuple[float, dict[str, float]]] = []
        stop = threading.Event()
        started = time.monotonic()

        def sample():
            while True:
                samples.append((time.monotonic() - started, rss_by_process(processes)))
                if stop.wait(15):
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        load_before = os.getloadavg()
        say(f"locust: {args.users} users for {args.minutes} minutes against 127.0.0.1:{web_port} (load {load_before[0]:.1f})")
        csv_prefix = workdir / "locust"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.users),
                "--run-time",
                f"{int(args.minutes * 60)}s",
                "--host",
                f"http://127.0.0.1:{web_port}",
                "--csv",
                str(csv_prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env={**os.environ, "SOAK_CONTEXT": str(context_path)},
            check=False,
        )
        stop.set()
        sampler.join()
        samples.append((time.monotonic() - started, rss_by_process(processes)))
        load_after = os.getloadavg()
        report(csv_prefix, samples, receiver, args, load_before, load_after)
        return 0
    finally:
        if processes is not None:
            processes.stop_all()
        devservices.redis_stop()
        devservices.pg_stop()
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def report(csv_prefix: Path, samples, receiver: Receiver, args, load_before, load_after) -> None:
    from polar.webhooks.models import WebhookDelivery

    rows = list(csv.DictReader(open(f"{csv_prefix}_stats.csv")))
    print("\n| endpoint | requests | failures | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['Name']} | {row['Request Count']} | {row['Failure Count']} | {row['50%']} | {row['99%']} |")
    total = next((row for row in rows if row["Name"] == "Aggregated"), None)
    if total:
        requests, failures = int(total["Request Count"]), int(total["Failure Count"])
        print(f"\nerror rate: {failures}/{requests} = {failures / max(requests, 1):.3%}; {float(total['Requests/s']):.1f} req/s")
    failures_path = Path(f"{csv_prefix}_failures.csv")
    if failures_path.exists():
        for row in list(csv.DictReader(open(failures_path)))[:10]:
            print(f"failure: {row['Method']} {row['Name']}: {row['Error'][:200]} x{row['Occurrences']}")
    # Five points (start, quarters, end): enough to tell growth that levels off from growth that does not.
    points = [samples[round(i * (len(samples) - 1) / 4)] for i in range(5)]
    print("\n| process | " + " | ".join(f"RSS MB t={at:.0f} s" for at, _ in points) + " |")
    print("| --- |" + " ---: |" * len(points))
    for name in sorted({name for _, snapshot in points for name in snapshot}):
        values = [snapshot.get(name) for _, snapshot in points]
        print(f"| {name} | " + " | ".join(f"{value:.1f}" if value is not None else "-" for value in values) + " |")
    deliveries = WebhookDelivery.objects.values_list("status", flat=True)
    counts = {status: list(deliveries).count(status) for status in set(deliveries)}
    print(f"\nwebhook deliveries: {counts}; receiver got {sum(receiver.received.values())} ({len(receiver.received)} distinct)")
    print(
        f"load average before {load_before[0]:.1f} / after {load_after[0]:.1f} (nproc {os.cpu_count()});"
        f" {args.users} users, {args.minutes} minutes; finished {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    )


if __name__ == "__main__":
    sys.exit(main())
