"""A real ``celery -A polar worker`` process, on the test Redis and the test database."""

import os
import signal
import subprocess
import sys
import time
import uuid
import warnings
from datetime import timedelta
from pathlib import Path

import pytest
from celery.exceptions import AlwaysEagerIgnored
from django.conf import settings
from django.db import connection

from polar import clock
from polar.api.models import IdempotencyKey
from polar.celery import app

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CELERY = str(Path(sys.executable).parent / "celery")


def worker_database_url() -> str:
    # The worker must see the rows this test commits: the test database, not DATABASE_URL's.
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def worker(django_db_setup, tmp_path_factory):
    """A worker on a queue and with a node name of its own, so no other worker on this Redis takes its tasks.
    One for the module (starting one takes seconds); always killed, whatever the tests do.
    Yields (node name, process, log file)."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "polar.settings.test",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DATABASE_URL": worker_database_url(),
    }
    process = subprocess.Popen(
        [
            CELERY,
            "-A",
            "polar",
            "worker",
            "--pool=solo",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
            f"--hostname={name}@localhost",
            f"--queues={name}",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield name, process, log
    finally:
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            if process.poll() is None:
                os.killpg(process.pid, sig)
                try:
                    process.wait(wait)
                except subprocess.TimeoutExpired:
                    continue
        assert process.poll() is not None


def wait_for_ping(name: str, process, log: Path, timeout: float = 15) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the worker exited:\n{log.read_text()[-3000:]}"
        replies = app.control.ping(destination=[f"{name}@localhost"], timeout=0.5)
        if replies:
            return replies
    return []


def test_worker_answers_ping(worker):
    name, process, log = worker
    replies = wait_for_ping(name, process, log)
    assert replies == [{f"{name}@localhost": {"ok": "pong"}}]


def test_worker_runs_a_task_against_the_database(worker, organization):
    name, process, log = worker
    assert wait_for_ping(name, process, log)
    old = IdempotencyKey.objects.create(
        organization=organization,
        key="old",
        request_method="POST",
        request_path="/v1/x/",
        request_fingerprint="0" * 64,
        created_at=clock.now() - settings.IDEMPOTENCY_KEY_TTL - timedelta(minutes=1),
    )
    fresh = IdempotencyKey.objects.create(
        organization=organization,
        key="fresh",
        request_method="POST",
        request_path="/v1/x/",
        request_fingerprint="1" * 64,
        created_at=clock.now(),
    )
    # send_task always goes through the broker, whatever CELERY_TASK_ALWAYS_EAGER says in this process.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlwaysEagerIgnored)
        app.send_task("polar.api.tasks.idempotency_keys_prune", queue=name)
    deadline = time.monotonic() + 15
    while IdempotencyKey.objects.filter(pk=old.pk).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == [fresh.key]
