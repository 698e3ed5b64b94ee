"""Issue 21 part 3: the rate limits hold across gunicorn workers. A real gunicorn with two sync workers on
loopback, hit by concurrent clients: exactly the limit gets through in total, whichever worker answered, and
every refusal is a 429 with Retry-After. The counters are the suite's own (its key prefix is handed over)."""

import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from django.conf import settings as django_settings
from django.db import connection

from billing.models import Event
from polar import ratelimit
from polar.organizations.services import access_token_create
from tests.factories import OrganizationFactory
from tests.ops.processes import stop, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def gunicorn(tmp_path):
    db = connection.settings_dict
    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.ops.ratelimit_app_settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "POLAR_DATA_DIR": str(tmp_path),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "RATE_LIMIT_KEY_PREFIX": ratelimit.key_prefix(),
        "RATE_LIMIT_TOKEN": "30/minute",
        "RATE_LIMIT_INGEST": "1000/minute",
        "RATE_LIMIT_INGEST_EVENTS": "100/minute",
    }
    master = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(django_settings.BASE_DIR / "gunicorn.conf.py")],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: _accepts(port), 60, "gunicorn to listen", log_path)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(master)


def _call(url: str, token: str, body: dict | None = None) -> tuple[int, dict, str | None]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Authorization": f"Bearer {token}"})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read()), response.headers.get("Retry-After")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers.get("Retry-After")


def test_the_token_limit_holds_across_two_workers(gunicorn):
    _row, token = access_token_create(organization=OrganizationFactory(slug="workers"))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _call(f"{gunicorn}/ops-test/pid/", token), range(60)))
    served = [body["pid"] for status, body, _ in answers if status == 200]
    refused = [(body, retry_after) for status, body, retry_after in answers if status == 429]
    assert len(served) == 30
    assert len(refused) == 30
    assert len(set(served)) == 2, "both workers must have answered for this to prove anything"
    assert all(body["error"] == "TooManyRequests" and 1 <= int(retry_after) <= 60 for body, retry_after in refused)


def test_the_event_budget_holds_across_two_workers(gunicorn):
    organization = OrganizationFactory(slug="ingest-workers")
    _row, token = access_token_create(organization=organization)

    def batch(number: int):
        events = [{"name": "api_call", "external_customer_id": "c-1", "external_id": f"b{number}-{i}"} for i in range(10)]
        return _call(f"{gunicorn}/v1/events/ingest", token, {"events": events})

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(batch, range(20)))
    statuses = sorted(status for status, _body, _retry in answers)
    assert statuses == [200] * 10 + [429] * 10
    assert sum(body["inserted"] for status, body, _ in answers if status == 200) == 100
    assert Event.objects.filter(organization=organization).count() == 100
