"""API benchmark (issue 20): req/s and p50/p99 of the calls merchants make most, against gunicorn as production
runs it, beside an empty authenticated call (the framework's floor) and the same reads in raw psycopg (the
PostgreSQL limit), in one run.

    .venv/bin/python bench/api.py                    # 5 s per call, 8 keep-alive client threads
    .venv/bin/python bench/api.py --seconds 3

What it does:
1. (re)creates the database ``polar_api_bench`` (``--database``) and migrates it;
2. seeds one organization through the services: 20 monthly products (a price and a benefit each), 200
   customers with a card, each subscribed to a product (so subscriptions and orders exist), 3 meters;
3. starts gunicorn with ``gunicorn.conf.py`` and production settings (2 sync workers by default), warms it;
4. for each call, ``--threads`` threads each hold one keep-alive connection to 127.0.0.1 and send it for
   ``--seconds``; prints req/s, p50 and p99 latency and the number of non-2xx answers;
5. runs the same reads as plain SQL over psycopg (one connection per thread) for the PostgreSQL limit.
The machine may be shared: the load average before and after is printed with the figures.
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import setup_database  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--database", default="polar_api_bench")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL without database")
    parser.add_argument("--keep-db", action="store_true", help="do not recreate the database")
    return parser.parse_args()


def server_env(args):
    from bench.ingest import server_env as ingest_env

    env = ingest_env(args)
    env.update(GUNICORN_BIND=f"127.0.0.1:{args.port}", GUNICORN_WORKERS=str(args.workers), GUNICORN_LOG_LEVEL="warning")
    env.setdefault("POLAR_DATA_DIR", str(ROOT / ".data" / "bench-api"))
    return env


def seed(args) -> dict:
    os.environ.update(server_env(args))
    import django

    django.setup()
    from billing.benefits.services import benefit_create
    from billing.catalog.services import product_benefits_set, product_create
    from billing.models import Meter
    from billing.payments.services import payment_method_attach
    from billing.subscriptions.lifecycle import subscription_create
    from customers.models import Customer
    from polar.organizations.services import access_token_create, organization_get_or_create

    organization, _ = organization_get_or_create(slug="bench-api", name="Bench API")
    _row, token = access_token_create(organization=organization, comment="bench")
    benefit = benefit_create(organization=organization, type="custom", description="Support", properties={})
    products = []
    for index in range(args.products):
        product = product_create(
            organization=organization,
            name=f"Plan {index}",
            recurring_interval="month",
            recurring_interval_count=1,
            prices=[{"amount_type": "fixed", "price_amount": 1000 + index, "price_currency": "usd"}],
        )
        product_benefits_set(product=product, benefits=[benefit.id])
        products.append(product)
    for index in range(3):
        Meter.objects.create(
            organization=organization,
            name=f"Meter {index}",
            filter={"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": f"m{index}"}]},
            aggregation={"func": "count"},
        )
    customers = []
    for index in range(args.customers):
        customer = Customer.objects.create(
            organization=organization, email=f"c{index}@bench.test", name=f"Customer {index}", external_id=f"cust-{index}"
        )
        card = payment_method_attach(customer=customer, token="pm_card_visa", set_default=True)
        subscription_create(
            organization=organization, customer=customer, product=products[index % len(products)], payment_method=card
        )
        customers.append(customer)
    order = customers[0].orders.first()
    return {
        "organization_id": str(organization.id),
        "token": token,
        "customer_id": str(customers[0].id),
        "external_id": customers[0].external_id,
        "product_id": str(products[0].id),
        "order_id": str(order.id),
    }


def calls(ids) -> list[tuple[str, str, str, object]]:
    """(label, method, path, body or a function of the thread's counter making one)."""

    def new_customer(n):
        return {"email": f"new-{uuid.uuid4().hex}@bench.test", "name": f"New {n}"}

    def new_checkout(_n):
        return {"products": [ids["product_id"]]}

    def event_batch(n):
        return {"events": [{"name": "m0", "external_customer_id": ids["external_id"]} for _ in range(10)]}

    return [
        ("floor: GET /v1/webhooks/endpoints (empty list)", "GET", "/v1/webhooks/endpoints", None),
        ("GET /v1/customers/{id}", "GET", f"/v1/customers/{ids['customer_id']}", None),
        ("GET /v1/customers/?limit=10", "GET", "/v1/customers/?limit=10", None),
        ("GET /v1/customers/{id}/state", "GET", f"/v1/customers/{ids['customer_id']}/state", None),
        ("GET /v1/customers/external/{ext}/state", "GET", f"/v1/customers/external/{ids['external_id']}/state", None),
        ("GET /v1/products/?limit=10", "GET", "/v1/products/?limit=10", None),
        ("GET /v1/subscriptions/?limit=10&active=true", "GET", "/v1/subscriptions/?limit=10&active=true", None),
        ("GET /v1/orders/?limit=10&product_id=..", "GET", f"/v1/orders/?limit=10&product_id={ids['product_id']}", None),
        ("GET /v1/orders/{id}", "GET", f"/v1/orders/{ids['order_id']}", None),
        ("POST /v1/customers/", "POST", "/v1/customers/", new_customer),
        ("POST /v1/checkouts/", "POST", "/v1/checkouts/", new_checkout),
        ("POST /v1/events/ingest (10 events)", "POST", "/v1/events/ingest", event_batch),
    ]


def hammer(seconds, threads, send) -> dict:
    """Run ``send(state, n)`` from ``threads`` threads for ``seconds``; latencies and failures."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures = [0] * threads
    deadline = time.perf_counter() + seconds
    start_gate = threading.Barrier(threads)

    def worker(slot):
        state = {}
        start_gate.wait()
        n = 0
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            ok = send(state, n)
            latencies[slot].append(time.perf_counter() - began)
            failures[slot] += not ok
            n += 1
        if "close" in state:
            state["close"]()

    pool = [threading.Thread(target=worker, args=(slot,)) for slot in range(threads)]
    began = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - began
    flat = sorted(x for per in latencies for x in per)
    return {
        "rps": len(flat) / elapsed,
        "p50": statistics.median(flat) * 1000 if flat else 0,
        "p99": flat[int(len(flat) * 0.99) - 1] * 1000 if flat else 0,
        "failures": sum(failures),
        "count": len(flat),
    }


def http_sender(port, token, method, path, body):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def send(state, n):
        if "conn" not in state:
            state["conn"] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            state["close"] = state["conn"].close
        payload = None if body is None else json.dumps(body(n) if callable(body) else body)
        state["conn"].request(method, path, body=payload, headers=headers)
        response = state["conn"].getresponse()
        response.read()
        return 200 <= response.status < 300

    return send


def sql_sender(dsn, sql, params):
    import psycopg

    def send(state, n):
        if "conn" not in state:
            state["conn"] = psycopg.connect(dsn, autocommit=True)
            state["close"] = state["conn"].close
        with state["conn"].cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()
        return True

    return send


def start_server(args):
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--keep-alive", "5"], cwd=ROOT, env=server_env(args)
    )
    for _ in range(150):
        try:
            probe = http.client.HTTPConnection("127.0.0.1", args.port, timeout=2)
            probe.request("GET", "/healthz")
            probe.getresponse().read()
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def main():
    args = parse_args()
    setup_database(args) if not args.keep_db else None
    ids = seed(args)
    print(f"seeded: {args.products} products, {args.customers} customers with a subscription and an order", flush=True)
    load_before = os.getloadavg()
    server = start_server(args)
    results = []
    try:
        for label, method, path, body in calls(ids):
            send = http_sender(args.port, ids["token"], method, path, body)
            hammer(min(1.0, args.seconds), args.threads, send)  # warm every worker on this call
            results.append((label, hammer(args.seconds, args.threads, send)))
            print(
                f"{label:52} {results[-1][1]['rps']:8.0f} req/s  p50 {results[-1][1]['p50']:6.1f} ms  "
                f"p99 {results[-1][1]['p99']:6.1f} ms  non-2xx {results[-1][1]['failures']}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    dsn = f"{args.pg}/{args.database}"
    raw = [
        ("raw SQL: customer by id", "SELECT * FROM customers_customer WHERE id = %s", (ids["customer_id"],)),
        (
            "raw SQL: 10 products + their prices",
            "SELECT p.*, pp.* FROM billing_product p LEFT JOIN billing_productprice pp ON pp.product_id = p.id "
            "WHERE p.id IN (SELECT id FROM billing_product WHERE organization_id = %s ORDER BY created_at LIMIT 10)",
            (ids["organization_id"],),
        ),
    ]
    for label, sql, params in raw:
        result = hammer(args.seconds, args.threads, sql_sender(dsn, sql, params))
        results.append((label, result))
        print(f"{label:52} {result['rps']:8.0f} q/s    p50 {result['p50']:6.1f} ms  p99 {result['p99']:6.1f} ms", flush=True)
    print(
        f"load average before: {load_before[0]:.1f} {load_before[1]:.1f}; after: {os.getloadavg()[0]:.1f} "
        f"(nproc {os.cpu_count()}, {args.workers} gunicorn workers, {args.threads} client threads)"
    )


if __name__ == "__main__":
    main()
