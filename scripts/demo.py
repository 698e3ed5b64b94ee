#!/usr/bin/env python3
"""``make demo``: prepare the database, seed the demo merchant, then run the web server, a Celery worker and
Celery beat together until Ctrl-C or SIGTERM, which stop all three.

Run it through ``scripts/devservices.py run`` (the Makefile does) so DATABASE_URL and REDIS_URL point at
running servers. ``--prepare-only`` does the first part (migrate, beat schedule) and exits: ``make migrate``.

Each process runs in its own process group with its output prefixed by its name; if one of them dies the
others are stopped too and the exit code says so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
BIN = Path(PY).parent
STOP_TIMEOUT = 25  # seconds each process gets to finish its work after SIGTERM, then SIGKILL


def say(message: str) -> None:
    print(f"demo   | {message}", flush=True)


def manage(*args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, check=True, text=True, stdout=subprocess.PIPE if capture else None
    )
    return result.stdout if capture else ""


def prepare() -> None:
    say("applying migrations")
    manage("migrate", "--noinput", "-v", "0")
    say("writing the beat schedule into the database")
    manage("sync_periodic_tasks")


class Supervisor:
    def __init__(self, env: dict[str, str]):
        self.env = env
        self.processes: dict[str, subprocess.Popen] = {}
        self.stopping = threading.Event()

    def start(self, name: str, argv: list[str]) -> None:
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            # Its own group: a signal reaches gunicorn's or Celery's children through their parent only.
            start_new_session=True,
        )
        self.processes[name] = process
        threading.Thread(target=self._pump, args=(name, process), daemon=True).start()

    @staticmethod
    def _pump(name: str, process: subprocess.Popen) -> None:
        for line in process.stdout:
            sys.stdout.write(f"{name:<6} | {line}")
            sys.stdout.flush()

    def first_exit(self) -> tuple[str, int] | None:
        for name, process in self.processes.items():
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop(self) -> None:
        # SIGTERM is the graceful stop for all three: gunicorn finishes requests, the worker its tasks.
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, process in self.processes.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in {STOP_TIMEOUT}s: killing it")
            # Whatever is left of the group (a stuck pool child, say) goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_ready(url: str, supervisor: Supervisor, timeout: float = 90) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not supervisor.stopping.is_set():
        if supervisor.first_exit():
            return False
        with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        time.sleep(0.3)
    return False


def port_is_free(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # The same option gunicorn sets: a port in TIME_WAIT from the last run counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=os.environ.get("DEMO_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--prepare-only", action="store_true", help="migrate and sync the beat schedule, then exit")
    args = parser.parse_args()

    if "DJANGO_SETTINGS_MODULE" not in os.environ:
        # The demo is a development machine: the development settings and their public secret key. Served
        # processes (gunicorn, Celery) would otherwise default to production settings and refuse to start.
        os.environ["DJANGO_SETTINGS_MODULE"] = "polar.settings.base"
        os.environ.setdefault("POLAR_DEVELOPMENT", "1")
    # Human-readable logs for a person watching the demo; JSON stays the default everywhere else.
    os.environ.setdefault("LOG_FORMAT", "console")
    # STATIC_ROOT: whitenoise warns at every start when it is missing (files are served through the finders).
    (ROOT / ".data" / "static").mkdir(parents=True, exist_ok=True)
    for variable in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(variable):
            say(f"{variable} is not set: run this through `make demo` (scripts/devservices.py run)")
            return 2
    prepare()
    if args.prepare_only:
        return 0

    base_url = f"http://{args.host}:{args.port}"
    if not port_is_free(args.host, args.port):
        say(f"{args.host}:{args.port} is already in use: try `make demo PORT={args.port + 1}`")
        return 2
    env = {**os.environ, "POLAR_PUBLIC_BASE_URL": os.environ.get("POLAR_PUBLIC_BASE_URL", base_url)}
    say("seeding the demo merchant")
    seed = json.loads(
        subprocess.run([PY, "manage.py", "seed_demo", "--json"], cwd=ROOT, env=env, check=True, text=True, stdout=subprocess.PIPE)
        .stdout.strip()
        .splitlines()[-1]
    )

    supervisor = Supervisor(env)

    def on_signal(signum, _frame):
        supervisor.stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    supervisor.start("web", [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"{args.host}:{args.port}"])
    supervisor.start(
        "worker", [str(BIN / "celery"), "-A", "polar", "worker", "--loglevel=INFO", "--concurrency=2", "--hostname=demo@%h"]
    )
    # --pidfile= (empty): no pid file, so a beat killed with -9 does not block the next start.
    supervisor.start("beat", [str(BIN / "celery"), "-A", "polar", "beat", "--loglevel=INFO", "--pidfile="])

    exit_code = 0
    try:
        if not wait_ready(f"{base_url}/readyz", supervisor):
            if not supervisor.stopping.is_set():
                say("the web server did not become ready; stopping")
                exit_code = 1
        else:
            banner = [
                "",
                "=" * 78,
                f"  Start here     {base_url}/   (a sample checkout: {base_url}/demo/checkout, card 4242 4242 4242 4242)",
                f"  API base URL   {base_url}/v1/",
                f"  API token      {seed['token']}",
                f"  API docs       {base_url}/docs",
                f"  Admin          {base_url}/admin/   user {seed['admin_username']}  password {seed['admin_password']}",
                f"  Staff roles    {', '.join(user for _role, user in seed.get('staff_logins', []))}"
                f"  password {seed.get('staff_password')}  (docs/back-office.md)",
                f"  Health         {base_url}/healthz  {base_url}/readyz  {base_url}/metrics",
                f"  Try            curl -H 'Authorization: Bearer {seed['token']}' {base_url}/v1/organizations/",
                "  Ctrl-C stops the web server, the worker and beat (and the embedded PostgreSQL/Redis).",
                "=" * 78,
                "",
            ]
            print("\n".join(banner), flush=True)
        while exit_code == 0 and not supervisor.stopping.is_set():
            exited = supervisor.first_exit()
            if exited:
                say(f"{exited[0]} exited with code {exited[1]}; stopping the others")
                exit_code = 1
                break
            supervisor.stopping.wait(0.5)
    finally:
        say("stopping web, worker and beat")
        supervisor.stop()
        say("stopped")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
