"""Chaos run (issue 21 part 4): the real processes (gunicorn, a Celery worker, Celery beat) on a PostgreSQL and a
Redis of this run's own, under a stream of event ingestion and a batch of due renewals, while the script crashes
PostgreSQL, restarts Redis and kills the worker. Then it waits for the system to settle and checks that nothing
was lost and nothing doubled.

    .venv/bin/python bench/chaos.py                          # make chaos; about 3 to 6 minutes
    .venv/bin/python bench/chaos.py --subscriptions 60 --ingest-seconds 20 --settle 240

The servers are started here, under a temporary directory, on ports of their own (scripts/devservices.py with
POLAR_DATA_DIR pointing there): restarting them never disturbs the machine's shared PostgreSQL and Redis.
PostgreSQL runs with synchronous_commit on (as production does), so a crash may only lose what was never
acknowledged.

The timeline (seconds after the traffic starts; each step is printed as it happens):
  0   ingestion clients start (batches with external ids; a failed or unanswered batch is sent again, same
      body and same Idempotency-Key, until it is answered 200); the due renewals are enqueued (the sweep);
  3   SIGKILL of the worker's pool process (a task in flight: acks_late + reject_on_worker_lost requeue it);
  8   PostgreSQL crashes (``pg_ctl stop -m immediate``) and comes back 2 s later on the same port;
  16  Redis restarts (SIGTERM, which saves its snapshot, then start on the same port);
  24  SIGKILL of the whole worker (parent and pool: what an OOM kill or a lost host does), a new one started;
  --ingest-seconds (default 36): the clients stop.
Then, until everything has settled or ``--settle`` seconds have passed, beat and the worker recover on their own
(no manual step). The checks:
  - every event answered 200 is stored exactly once (by external id), and nothing is stored twice;
  - every due subscription was renewed once (one cycle order for the period, the period moved once), paid, and
    charged at most once (one succeeded sandbox charge per payment method);
  - ``manage.py ledger_check`` reports no breach;
  - every webhook delivery to the loopback receiver succeeded and the receiver got every event (duplicates,
    which Standard Webhooks receivers dedupe by ``webhook-id``, are counted).
Exits 0 when all hold. The figures of the last run are in docs/chaos.md.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import http.client
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROCESS_NAMES = ("web", "worker", "beat")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscriptions", type=int, default=200, help="due subscriptions in the renewal batch")
    parser.add_argument("--ingest-seconds", type=float, default=36.0)
    parser.add_argument("--clients", type=int, default=2, help="concurrent ingestion clients")
    parser.add_argument("--batch", type=int, default=25, help="events per ingestion request")
    parser.add_argument("--settle", type=float, default=300.0, help="seconds allowed to settle after the traffic")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, data)")
    return parser.parse_args()


def say(message: str, started: float | None = None) -> None:
    stamp = f"t={time.monotonic() - started:6.1f}s " if started is not None else ""
    print(f"chaos: {stamp}{message}", flush=True)


# --- The webhook receiver (loopback) -------------------------------------------------------------------------


class Receiver:
    """Answers 200 to every POST whose Standard Webhooks signature verifies; counts each webhook-id received."""

    def __init__(self):
        self.received: collections.Counter[str] = collections.Counter()
        self.bad_signatures = 0
        self.secret: str | None = None
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                from standardwebhooks import Webhook, WebhookVerificationError

                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {key.lower(): value for key, value in self.headers.items()}
                try:
                    Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    verified = False
                with receiver.lock:
                    if verified:
                        receiver.received[headers.get("webhook-id", "")] += 1
                    else:
                        receiver.bad_signatures += 1
                self.send_response(200 if verified else 400)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


# --- Ingestion clients that retry ----------------------------------------------------------------------------


class Ingestor(threading.Thread):
    """Sends batches of new events; a batch that fails (no answer, 5xx, 429) is sent again with the same body and
    Idempotency-Key until it is answered 200 (what a careful client does). Records the ids answered 200."""

    RETRY_FOR = 90.0  # a batch not accepted after this long is given up (and reported)

    def __init__(self, number: int, port: int, token: str, batch: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.number, self.port, self.token, self.batch, self.stop_event = number, port, token, batch, stop
        self.accepted: list[str] = []
        self.sent_ids: list[str] = []
        self.given_up: list[str] = []
        self.answers: collections.Counter[str] = collections.Counter()
        self.retries = 0
        self.duplicates_reported = 0

    def run(self):
        sequence = 0
        while not self.stop_event.is_set():
            ids = [f"chaos-{self.number}-{sequence}-{index}" for index in range(self.batch)]
            sequence += 1
            self.sent_ids.extend(ids)
            events = [{"name": "chaos_call", "external_customer_id": f"client-{self.number}", "external_id": i} for i in ids]
            body = json.dumps({"events": events})
            key = str(uuid.uuid4())
            deadline = time.monotonic() + self.RETRY_FOR
            while True:
                outcome = self._send(body, key)
                self.answers[outcome[0]] += 1
                if outcome[0] == "200":
                    self.accepted.extend(ids)
                    self.duplicates_reported += outcome[1].get("duplicates", 0)
                    break
                if time.monotonic() > deadline:
                    self.given_up.extend(ids)
                    break
                self.retries += 1
                time.sleep(0.5)

    def _send(self, body: str, key: str) -> tuple[str, dict]:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json", "Idempotency-Key": key}
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
            conn.request("POST", "/v1/events/ingest", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            conn.close()
        except (OSError, http.client.HTTPException) as error:
            return type(error).__name__, {}
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = {}
        return str(response.status), parsed if isinstance(parsed, dict) else {}


# --- Servers and processes -----------------------------------------------------------------------------------


class Processes:
    def __init__(self, workdir: Path, env: dict[str, str], web_port: int):
        self.workdir, self.env, self.web_port = workdir, env, web_port
        self.running: dict[str, subprocess.Popen] = {}
        self.generation = collections.Counter()

    def start(self, name: str) -> None:
        commands = {
            "web": [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")],
            "worker": [sys.executable, "-m", "celery", "-A", "polar", "worker", "-P", "prefork", "-c", "2"]
            + ["-n", f"chaos{self.generation['worker']}@%h", "--without-gossip", "--without-mingle", "-l", "WARNING"],
            "beat": [sys.executable, "-m", "celery", "-A", "polar", "beat", "-l", "WARNING", "--pidfile="],
        }
        self.generation[name] += 1
        log = (self.workdir / f"{name}-{self.generation[name]}.log").open("w")
        self.running[name] = subprocess.Popen(
            commands[name], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_for_web(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=2)
                probe.request("GET", "/healthz")
                probe.getresponse().read()
                return
            except OSError:
                time.sleep(0.3)
        raise SystemExit("chaos: gunicorn did not start")

    def kill_worker_pool(self) -> list[int]:
        """SIGKILL the worker's pool processes (the children running tasks); the parent stays and notices."""
        import psutil

        children = psutil.Process(self.running["worker"].pid).children()
        for child in children:
            child.send_signal(signal.SIGKILL)
        return [child.pid for child in children]

    def kill_worker(self) -> None:
        """SIGKILL the whole worker (parent and pool), as an OOM kill or a lost host would."""
        os.killpg(self.running["worker"].pid, signal.SIGKILL)
        self.running["worker"].wait(10)

    def rss_mb(self) -> dict[str, float]:
        import psutil

        sizes = {}
        for name, process in self.running.items():
            try:
                parent = psutil.Process(process.pid)
                sizes[name] = sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20
            except psutil.NoSuchProcess:
                sizes[name] = 0.0
        return sizes

    def stop_all(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


# --- The run -------------------------------------------------------------------------------------------------


def prepare(args, receiver: Receiver) -> dict:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("sync_periodic_tasks", verbosity=0)
    from bench.renewals import seed
    from polar.audit import system_actor
    from polar.organizations.services import access_token_create
    from polar.webhooks.events import WebhookEventType
    from polar.webhooks.services import webhook_endpoint_create

    due_at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    with system_actor("chaos"):
        seeded = seed(args.subscriptions, 2, due_at)
        organization = seeded["organization"]
        _row, token = access_token_create(organization=organization, comment="chaos")
        endpoint = webhook_endpoint_create(
            organization=organization, url=receiver.url, events=[event_type.value for event_type in WebhookEventType]
        )
    receiver.secret = endpoint.secret
    return {"organization": organization, "token": token, "endpoint": endpoint, "due_at": due_at}


def enqueue_renewals() -> int:
    from billing.renewals.sweep import renewals_sweep

    return renewals_sweep()


def settled(context: dict, expected: int) -> tuple[bool, str]:
    from django.db import connection

    from billing.models import Order, Subscription
    from polar.webhooks.models import WebhookDelivery, WebhookEvent

    connection.close()  # the server may have restarted since the last look
    organization, due_at = context["organization"], context["due_at"]
    still_due = Subscription.objects.filter(organization=organization, current_period_end__lte=due_at).count()
    paid = Order.objects.filter(organization=organization, billing_reason="subscription_cycle", status="paid").count()
    undelivered = WebhookDelivery.objects.filter(endpoint=context["endpoint"]).exclude(status="succeeded").count()
    unfanned = WebhookEvent.objects.filter(organization=organization, fanned_out_at__isnull=True).count()
    state = f"still due {still_due}, cycle orders paid {paid}/{expected}, deliveries pending {undelivered}, events not fanned out {unfanned}"
    return still_due == 0 and paid == expected and undelivered == 0 and unfanned == 0, state


def check(context: dict, ingestors: list[Ingestor], receiver: Receiver, expected: int) -> dict:
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.db import connection
    from django.db.models import Count

    from billing.models import Event, Order, Payment, SandboxCharge, Subscription
    from polar.webhooks.models import WebhookDelivery

    connection.close()
    organization, due_at = context["organization"], context["due_at"]
    accepted = {i for ingestor in ingestors for i in ingestor.accepted}
    sent = {i for ingestor in ingestors for i in ingestor.sent_ids}
    stored = collections.Counter(
        Event.objects.filter(organization=organization, name="chaos_call").values_list("external_id", flat=True)
    )
    subscriptions = Subscription.objects.filter(organization=organization)
    cycle_orders = Order.objects.filter(organization=organization, billing_reason="subscription_cycle")
    orders_per_subscription = collections.Counter(cycle_orders.values_list("subscription_id", flat=True))
    succeeded_charges = SandboxCharge.objects.filter(status="succeeded").values("payment_method_id").annotate(n=Count("id"))
    succeeded_payments = Payment.objects.filter(order__in=cycle_orders, status="succeeded")
    ledger_out = io.StringIO()
    try:
        call_command("ledger_check", stdout=ledger_out)
        ledger_clean = True
    except CommandError:
        ledger_clean = False
    deliveries = WebhookDelivery.objects.filter(endpoint=context["endpoint"])
    delivered_ids = {str(event_id) for event_id in deliveries.filter(status="succeeded").values_list("event_id", flat=True)}
    return {
        "events": {
            "sent": len(sent),
            "accepted": len(accepted),
            "given_up": sum(len(ingestor.given_up) for ingestor in ingestors),
            "stored": sum(stored.values()),
            "accepted_not_stored": len(accepted - set(stored)),
            "stored_twice": sum(1 for count in stored.values() if count > 1),
            "stored_not_sent": len(set(stored) - sent),
            "retries": sum(ingestor.retries for ingestor in ingestors),
            "duplicates_answered_on_retry": sum(ingestor.duplicates_reported for ingestor in ingestors),
            "answers": dict(sum((ingestor.answers for ingestor in ingestors), collections.Counter())),
        },
        "renewals": {
            "due": expected,
            "renewed": subscriptions.filter(current_period_end__gt=due_at).count(),
            "still_due": subscriptions.filter(current_period_end__lte=due_at).count(),
            "cycle_orders": cycle_orders.count(),
            "subscriptions_with_two_cycle_orders": sum(1 for count in orders_per_subscription.values() if count > 1),
            "cycle_orders_paid": cycle_orders.filter(status="paid").count(),
            "succeeded_payments": succeeded_payments.count(),
            "payment_methods_charged_twice": sum(1 for row in succeeded_charges if row["n"] > 1),
        },
        "ledger_check": ledger_out.getvalue().strip().splitlines()[-1] if ledger_out.getvalue().strip() else "",
        "ledger_clean": ledger_clean,
        "webhooks": {
            "deliveries": deliveries.count(),
            "succeeded": len(delivered_ids),
            "not_succeeded": deliveries.exclude(status="succeeded").count(),
            "received_distinct": len(receiver.received),
            "succeeded_not_received": len(delivered_ids - set(receiver.received)),
            "received_more_than_once": sum(1 for count in receiver.received.values() if count > 1),
            "bad_signatures": receiver.bad_signatures,
        },
    }


def verdict(result: dict) -> list[str]:
    events, renewals, webhooks = result["events"], result["renewals"], result["webhooks"]
    problems = []
    if events["accepted_not_stored"]:
        problems.append(f"{events['accepted_not_stored']} accepted events lost")
    if events["stored_twice"] or events["stored_not_sent"]:
        problems.append(f"{events['stored_twice']} events stored twice, {events['stored_not_sent']} never sent")
    if events["given_up"]:
        problems.append(f"{events['given_up']} events never accepted within {Ingestor.RETRY_FOR:.0f} s of retries")
    if renewals["renewed"] != renewals["due"] or renewals["cycle_orders_paid"] != renewals["due"]:
        problems.append(f"renewed {renewals['renewed']}, paid {renewals['cycle_orders_paid']} of {renewals['due']}")
    if renewals["subscriptions_with_two_cycle_orders"] or renewals["payment_methods_charged_twice"]:
        problems.append("a subscription renewed or charged twice")
    if not result["ledger_clean"]:
        problems.append(f"ledger_check: {result['ledger_check']}")
    if webhooks["not_succeeded"] or webhooks["succeeded_not_received"] or webhooks["bad_signatures"]:
        problems.append(f"webhooks: {webhooks['not_succeeded']} not delivered, {webhooks['succeeded_not_received']} unseen")
    return problems


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="chaos_"))
    # devservices reads POLAR_DATA_DIR when it is imported: this run's servers live under workdir.
    os.environ["POLAR_DATA_DIR"] = str(workdir)
    sys.path.insert(0, str(ROOT / "scripts"))
    import devservices

    pg_port = redis_port = None
    processes = None
    stop_ingest = threading.Event()
    ingestors: list[Ingestor] = []
    try:
        pg_port = devservices.pg_start(durable=True)
        devservices.pg_ensure_database(pg_port)
        redis_port = devservices.redis_start()
        web_port = devservices.free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "polar.settings.base",
            "POLAR_DEVELOPMENT": "1",
            "DATABASE_URL": devservices.pg_url(pg_port),
            "REDIS_URL": devservices.redis_url(redis_port),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "WEBHOOKS_ALLOW_LOOPBACK": "1",
            "LOG_LEVEL": "WARNING",
            "GUNICORN_BIND": f"127.0.0.1:{web_port}",
            "GUNICORN_WORKERS": "2",
            "GUNICORN_LOG_LEVEL": "warning",
        }
        os.environ.update(env)
        receiver = Receiver()
        say(f"servers of this run: PostgreSQL 127.0.0.1:{pg_port}, Redis 127.0.0.1:{redis_port} (under {workdir})")
        context = prepare(args, receiver)
        say(f"seeded {args.subscriptions} due subscriptions; webhooks to {receiver.url}")
        processes = Processes(workdir, env, web_port)
        for name in PROCESS_NAMES:
            processes.start(name)
        processes.wait_for_web()
        rss_start = processes.rss_mb()

        started = time.monotonic()
        ingestors = [Ingestor(n, web_port, context["token"], args.batch, stop_ingest) for n in range(args.clients)]
        for ingestor in ingestors:
            ingestor.start()
        say(f"ingestion: {args.clients} clients, {args.batch} events a batch", started)
        say(f"renewals enqueued: {enqueue_renewals()}", started)

        def at(second: float) -> None:
            time.sleep(max(0.0, started + second - time.monotonic()))

        at(3)
        say(f"SIGKILL worker pool processes {processes.kill_worker_pool()}", started)
        at(8)
        devservices.pg_stop(mode="immediate")
        say("PostgreSQL crashed (stop -m immediate)", started)
        time.sleep(2)
        devservices.pg_start(pg_port, durable=True)
        say("PostgreSQL back", started)
        at(16)
        devservices.redis_stop()
        say("Redis stopped (SIGTERM)", started)
        time.sleep(2)
        devservices.redis_start(redis_port)
        say("Redis back", started)
        at(24)
        processes.kill_worker()
        say("SIGKILL the whole worker", started)
        processes.start("worker")
        say("a new worker started", started)
        at(args.ingest_seconds)
        stop_ingest.set()
        for ingestor in ingestors:
            ingestor.join(Ingestor.RETRY_FOR + 30)
        say("ingestion stopped; waiting for the system to settle", started)

        deadline = time.monotonic() + args.settle
        state = ""
        while time.monotonic() < deadline:
            try:
                done, state = settled(context, args.subscriptions)
            except Exception as error:  # the database may still be recovering: look again
                done, state = False, f"not readable yet: {type(error).__name__}"
            if done:
                break
            time.sleep(3)
        say(f"settled: {state}" if done else f"NOT settled after {args.settle:.0f} s: {state}", started)
        rss_end = processes.rss_mb()
        result = check(context, ingestors, receiver, args.subscriptions)
        result["settle_seconds"] = round(time.monotonic() - started - args.ingest_seconds, 1)
        result["rss_mb"] = {name: [round(rss_start.get(name, 0), 1), round(rss_end.get(name, 0), 1)] for name in PROCESS_NAMES}
        result["load_average"] = [round(value, 1) for value in os.getloadavg()]
        problems = verdict(result)
        print(json.dumps(result, indent=2))
        say("PASS: nothing lost, nothing doubled" if not problems else "FAIL: " + "; ".join(problems))
        return 0 if not problems else 1
    finally:
        stop_ingest.set()
        if processes is not None:
            processes.stop_all()
        devservices.redis_stop()
        devservices.pg_stop()
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
