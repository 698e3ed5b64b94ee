"""Rate limits under load (issue 21 part 3): as concurrent clients grow past what gunicorn can serve, do the
429s with ``Retry-After`` arrive before latency collapses?

    .venv/bin/python bench/ratelimit.py                       # clients 1..32, 4 s a step
    .venv/bin/python bench/ratelimit.py --seconds 2 --steps 1,8

What it does:
1. (re)creates the database ``chaos_ratelimit_bench`` (``--database``), migrates it, seeds one organization
   with 50 customers and a token;
2. starts gunicorn (``gunicorn.conf.py``, production settings, 2 sync workers, limits on, Redis as configured);
3. runs the steps three times on ``GET /v1/customers/?limit=10``: with the organization's ``token`` limit
   "off" (its own rate, polar.organizations.services.organization_rate_limits_set); with it set to
   ``--limit`` a second (default: half the best 200/s of the first run, i.e. below what the server can serve
   on this machine today) and clients that send again at once after a 429; and with the same limit and
   clients that wait the ``Retry-After`` they were given (what a well-behaved SDK does);
4. per step prints: answered 200/s, 429/s, p50/p99 of the 200s and of the 429s, and whether every 429 had a
   Retry-After. Each client thread holds one keep-alive connection and sends as fast as it is answered.
The machine may be shared: the load average before and after is printed.
"""

import argparse
import http.client
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import server_env as api_server_env  # noqa: E402
from bench.ingest import setup_database  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--steps", default="1,2,4,8,16,32", help="concurrent clients, comma separated")
    parser.add_argument("--limit", type=int, default=0, help="the token limit, requests a second (0: half the capacity)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8771)
    parser.add_argument("--database", default="chaos_ratelimit_bench")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL without database")
    parser.add_argument("--keep-db", action="store_true")
    return parser.parse_args()


def server_env(args):
    env = api_server_env(args)
    env.update(RATE_LIMITS_ENABLED="true", RATE_LIMIT_KEY_PREFIX=f"polar:ratelimit:bench-{os.getpid()}:")
    return env


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


def seed(args):
    os.environ.update(server_env(args))
    import django

    django.setup()
    from customers.models import Customer
    from polar.organizations.services import access_token_create, organization_get_or_create

    organization, _ = organization_get_or_create(slug="bench-ratelimit", name="Bench rate limits")
    _row, token = access_token_create(organization=organization, comment="bench")
    Customer.objects.bulk_create(
        [Customer(organization=organization, email=f"c{i}@bench.test", external_id=f"c-{i}") for i in range(50)],
        ignore_conflicts=True,
    )
    return organization, token


def step(port, token, clients, seconds, *, obey_retry_after=False) -> dict:
    answers: list[list[tuple[int, float, bool]]] = [[] for _ in range(clients)]
    deadline = time.perf_counter() + seconds
    gate = threading.Barrier(clients)

    def client(slot):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {token}"}
        gate.wait()
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            conn.request("GET", "/v1/customers/?limit=10", headers=headers)
            response = conn.getresponse()
            response.read()
            retry_after = response.getheader("Retry-After")
            answers[slot].append((response.status, time.perf_counter() - began, retry_after is not None))
            if obey_retry_after and response.status == 429 and retry_after:
                time.sleep(min(float(retry_after), max(0.0, deadline - time.perf_counter())))
        conn.close()

    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    flat = [answer for per in answers for answer in per]

    def percentiles(status):
        latencies = sorted(latency for code, latency, _ in flat if code == status)
        if not latencies:
            return 0.0, 0.0
        # nearest rank: never below the median, even for a handful of samples
        return statistics.median(latencies) * 1000, latencies[max(0, math.ceil(len(latencies) * 0.99) - 1)] * 1000

    refused = [answer for answer in flat if answer[0] == 429]
    return {
        "ok_per_s": sum(1 for code, _, _ in flat if code == 200) / elapsed,
        "refused_per_s": len(refused) / elapsed,
        "other": sum(1 for code, _, _ in flat if code not in (200, 429)),
        "ok": percentiles(200),
        "refused": percentiles(429),
        "retry_after_on_every_429": all(has for _, _, has in refused),
    }


def main():
    args = parse_args()
    setup_database(args) if not args.keep_db else None
    organization, token = seed(args)
    from polar import ratelimit
    from polar.organizations.services import organization_rate_limits_set

    load_before = os.getloadavg()
    server = start_server(args)
    try:
        step(args.port, token, args.workers * 2, 1.0)  # warm every worker
        best = 0.0
        for limited, obey in ((False, False), (True, False), (True, True)):
            limit = args.limit or max(1, int(best / 2))
            rate = f"{limit}/s" if limited else "off"
            organization_rate_limits_set(organization=organization, changes={"token": rate})
            ratelimit.flush_all()
            clients_do = "wait Retry-After after a 429" if obey else "send again at once"
            print(f"--- the organization's own token rate: {rate}; clients {clients_do}", flush=True)
            for clients in [int(value) for value in args.steps.split(",")]:
                result = step(args.port, token, clients, args.seconds, obey_retry_after=obey)
                best = max(best, result["ok_per_s"])
                print(
                    f"clients {clients:3}: 200 {result['ok_per_s']:6.0f}/s p50 {result['ok'][0]:7.1f} ms"
                    f" p99 {result['ok'][1]:7.1f} ms | 429 {result['refused_per_s']:6.0f}/s p50 {result['refused'][0]:6.1f} ms"
                    f" p99 {result['refused'][1]:6.1f} ms | Retry-After on all 429s: {result['retry_after_on_every_429']}"
                    f" | other {result['other']}",
                    flush=True,
                )
                time.sleep(1.1)  # start the next step in a fresh one-second window
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"load average before: {load_before[0]:.1f} {load_before[1]:.1f}; after: {os.getloadavg()[0]:.1f} "
        f"(nproc {os.cpu_count()}, {args.workers} gunicorn workers)"
    )


if __name__ == "__main__":
    main()
