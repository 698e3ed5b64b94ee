"""Profile API calls in-process (issue 20): the same production settings and middleware chain gunicorn runs,
called as a WSGI application, without HTTP or a second process in the way. Prints the mean wall time, the
mean CPU time of this process (what a gunicorn worker spends in Python: steadier than wall time on a shared
machine), the Python function calls (a count: the same on a busy machine as on an idle one) and the
queries of each call and, with ``--profile``, cProfile's top functions for one of them.

    .venv/bin/python bench/api.py --seconds 1          # once, to create and seed polar_api_bench
    .venv/bin/python bench/profile_api.py              # mean ms and queries per call
    .venv/bin/python bench/profile_api.py --profile "GET /v1/customers/{id}" --sort tottime

It reads the seeded organization from the database named by ``--database`` (the one ``bench/api.py``
seeds) and mints a token of its own there.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="polar_api_bench")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=300, help="per call, after 30 warm-up requests")
    parser.add_argument("--only", default="", help="run only the calls whose label contains this")
    parser.add_argument("--profile", default="", help="label (or part of it) of the call to profile")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key (cumulative, tottime)")
    parser.add_argument("--lines", type=int, default=45)
    parser.add_argument("--show-queries", action="store_true")
    parser.add_argument("--rate-limits", action="store_true", help="keep the rate limits on, as production does")
    return parser.parse_args()


def ids_from_database(token_create) -> dict:
    from billing.models import Order, Product
    from customers.models import Customer
    from polar.organizations.models import Organization

    organization = Organization.objects.get(slug="bench-api")
    customer = Customer.objects.filter(organization=organization, external_id="cust-0").get()
    _row, token = token_create(organization=organization, comment="profile")
    return {
        "organization_id": str(organization.id),
        "token": token,
        "customer_id": str(customer.id),
        "external_id": customer.external_id,
        "product_id": str(Product.objects.filter(organization=organization).order_by("created_at").first().id),
        "order_id": str(Order.objects.filter(customer=customer).first().id),
    }


def make_environ(token, method, path, body: bytes | None) -> dict:
    from io import BytesIO

    path_info, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8767",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "wsgi.url_scheme": "http",
        "wsgi.input": BytesIO(body or b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if body is not None:
        environ["CONTENT_TYPE"] = "application/json"
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def main():
    args = parse_args()
    from bench.api import calls, server_env

    env = server_env(args)
    if args.rate_limits:
        env["RATE_LIMITS_ENABLED"] = "true"
    os.environ.update(env)
    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    from polar.organizations.services import access_token_create

    application = get_wsgi_application()
    ids = ids_from_database(access_token_create)
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def one(method, path, body, n):
        payload = None if body is None else json.dumps(body(n) if callable(body) else body).encode()
        response = application(make_environ(ids["token"], method, path, payload), start_response)
        b"".join(response)
        response.close()

    for label, method, path, body in calls(ids):
        if args.only and args.only not in label:
            continue
        for n in range(30):
            one(method, path, body, n)
        # Django empties connection.queries when a request starts, so they are counted as they are sent.
        queries = []

        def record(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            one(method, path, body, 10_000)
        if args.show_queries:
            print("\n".join(f"    {sql[:160]}" for sql in queries))
        statuses.clear()
        began, cpu_began = time.perf_counter(), time.process_time()
        for n in range(args.requests):
            one(method, path, body, 20_000 + n)
        elapsed = (time.perf_counter() - began) / args.requests
        cpu = (time.process_time() - cpu_began) / args.requests
        bad = sum(1 for status in statuses if not status.startswith("2"))
        # Python function calls per request: a count, so it does not move with the machine's load.
        counter = cProfile.Profile()
        counter.enable()
        for n in range(20):
            one(method, path, body, 30_000 + n)
        counter.disable()
        calls_per_request = pstats.Stats(counter).total_calls / 20
        print(
            f"{label:52} {elapsed * 1000:7.2f} ms wall  {cpu * 1000:6.2f} ms CPU  {calls_per_request:7.0f} calls  "
            f"{len(queries):3d} queries  non-2xx {bad}",
            flush=True,
        )
        if args.profile and args.profile in label:
            profiler = cProfile.Profile()
            profiler.enable()
            for n in range(args.requests):
                one(method, path, body, 40_000 + n)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.lines)
            print(out.getvalue())


if __name__ == "__main__":
    main()
