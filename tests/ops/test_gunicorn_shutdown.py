"""Graceful shutdown of the web processes, with a real gunicorn started from ``gunicorn.conf.py``: on SIGTERM
(what an orchestrator sends on a deploy) the master stops accepting connections, lets the request in flight
finish and answer, and exits 0 within ``graceful_timeout``."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

pytestmark = [pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(predicate, timeout: float, what: str, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}:\n{log_path.read_text()[-3000:]}")


@pytest.mark.django_db
def test_sigterm_lets_the_request_in_flight_finish_then_exits(tmp_path):
    db = connection.settings_dict
    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.ops.gunicorn_app_settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_GRACEFUL_TIMEOUT": "15",
        "POLAR_DATA_DIR": str(tmp_path),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    master = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(django_settings.BASE_DIR / "gunicorn.conf.py")],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    answer: dict = {}
    try:
        _wait_for(lambda: _accepts(port), 60, "gunicorn to listen", log_path)
        marker = tmp_path / "in-flight"

        def request():
            url = f"http://127.0.0.1:{port}/ops-test/slow/?seconds=3&marker={marker}"
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    answer["status"], answer["body"] = response.status, response.read()
            except Exception as exc:  # the assertion below reports it
                answer["error"] = repr(exc)

        client = threading.Thread(target=request)
        client.start()
        _wait_for(marker.exists, 30, "the slow request to reach a worker", log_path)
        master.send_signal(signal.SIGTERM)
        # The listener closes at once; the worker finishes its request first.
        _wait_for(lambda: not _accepts(port), 5, "gunicorn to stop accepting connections", log_path)
        client.join(30)
        assert master.wait(30) == 0, log_path.read_text()[-3000:]
    finally:
        if master.poll() is None:
            os.killpg(master.pid, signal.SIGKILL)
            master.wait(10)

    assert answer.get("status") == 200, (answer, log_path.read_text()[-3000:])
    assert answer["body"] == b'{"slept": 3.0}'
    log = log_path.read_text()
    assert "Handling signal: term" in log, log[-3000:]
    assert "Shutting down: Master" in log, log[-3000:]
