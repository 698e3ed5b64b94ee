"""Real processes for the operations tests: a Celery worker on this test's database, waiting for a condition,
and stopping a process group for good."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings as django_settings
from django.db import connection


def start_worker(
    tmp_path: Path,
    name: str,
    *,
    settings_module: str = "tests.ops.shutdown_worker_settings",
    env: dict | None = None,
    pool: str = "prefork",
    queues: str | None = None,
) -> tuple[subprocess.Popen, Path]:
    """A ``celery worker`` (one process of ``pool``) on the test database, logging to ``tmp_path/<name>.log``."""
    db = connection.settings_dict
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        **(env or {}),
    }
    log_path = tmp_path / f"{name}.log"
    command = [sys.executable, "-m", "celery", "-A", "polar", "worker", "-P", pool]
    command += ["-c", "1"] if pool == "prefork" else []
    command += ["-Q", queues] if queues else []
    command += ["-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"]
    process = subprocess.Popen(
        command,
        cwd=django_settings.BASE_DIR,
        env=environment,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, log_path


def wait_for(predicate, timeout: float, what: str, log_path: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    log = log_path.read_text()[-3000:] if log_path is not None else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")


def stop(process: subprocess.Popen | None, *, graceful: bool = True, timeout: float = 30) -> None:
    """SIGTERM (a warm shutdown) and wait; the whole process group is killed if it does not end in time."""
    if process is None or process.poll() is not None:
        return
    if graceful:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            pass
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
