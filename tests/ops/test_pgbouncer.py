"""The app behind PgBouncer in transaction mode (docs/scaling.md): a server connection passes to another client
after every transaction, so nothing of ours may outlive one (no session settings, no server-side cursor outside a
transaction, no prepared statement). With ``DATABASE_POOLER_TRANSACTION_MODE=1`` the settings turn off Django's
server-side cursors and psycopg's prepared statements; this test runs real flows through a real PgBouncer with a
pool of two server connections shared by two processes: the demo seed with its months of renewals through
``run_billing``, API reads in a loop beside it, then ``billing_verify`` (which iterates orders) and
``ledger_check``."""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from billing.models import Event, Order
from polar.organizations.models import Organization


def _pgbouncer_binary() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    return "/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"pgbouncer did not listen on 127.0.0.1:{port}")


@pytest.fixture
def pgbouncer():
    binary = _pgbouncer_binary()
    if binary is None:
        pytest.skip("pgbouncer is not installed (Debian package pgbouncer; .ci/run installs it)")
    db = connection.settings_dict
    port = _free_port()
    # PgBouncer refuses to run as root; as another user it must read its files: a world-readable directory.
    home = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    home.chmod(0o777)
    (home / "users.txt").write_text(f'"{db["USER"]}" ""\n')
    (home / "pgbouncer.ini").write_text(
        "\n".join(
            [
                "[databases]",
                f"* = host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {home / 'users.txt'}",
                "pool_mode = transaction",
                # Two server connections for every client: interleaved transactions of different processes
                # land on the same server connection, which is what transaction mode means.
                "default_pool_size = 2",
                "max_client_conn = 50",
                f"logfile = {home / 'pgbouncer.log'}",
                "",
            ]
        )
    )
    for name in ("users.txt", "pgbouncer.ini"):
        (home / name).chmod(0o644)
    command = [binary, str(home / "pgbouncer.ini")]
    if os.getuid() == 0:
        command[1:1] = ["-u", "nobody"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, 10)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(home, ignore_errors=True)


def _env(port: int) -> dict:
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "polar.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{port}/{db['NAME']}",
        "DATABASE_POOLER_TRANSACTION_MODE": "1",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }


def _run(args: list[str], env: dict, timeout: float = 600) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result.stdout


@contextlib.contextmanager
def _readers(env: dict, token: str, count: int = 2, rounds: int = 8):
    readers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.ops.pgbouncer_api_reader", token, str(rounds)],
            cwd=django_settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        yield
    finally:
        outputs = [reader.communicate(timeout=600) for reader in readers]
    for reader, (stdout, stderr) in zip(readers, outputs, strict=True):
        assert reader.returncode == 0, stderr[-4000:]
        statuses = json.loads(stdout.splitlines()[-1])
        assert statuses and all(set(codes) == {200} for codes in statuses.values()), statuses


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_billing_flows_run_behind_pgbouncer_in_transaction_mode(pgbouncer, tmp_path):
    env = _env(pgbouncer)
    try:
        # The last line: the console e-mail backend of a development process prints the receipts before it.
        seed = json.loads(_run(["manage.py", "seed_demo", "--json", "--data-dir", str(tmp_path)], env).splitlines()[-1])
        # Months of renewals and usage (idempotent: the demo seed may have run them already), then the order
        # check (a chunked iterator over the orders) and the ledger check, each while API readers read: the
        # processes' transactions take turns on the same two server connections.
        with _readers(env, seed["token"]):
            _run(["manage.py", "seed_demo_billing"], env)
        with _readers(env, seed["token"]):
            verify = _run(["manage.py", "billing_verify", "--organization", "demo"], env)
            _run(["manage.py", "ledger_check"], env)
        assert ", 0 mismatch(es)" in verify, verify

        organization = Organization.objects.get(slug="demo")
        assert Order.objects.filter(organization=organization).count() > 3
    finally:
        Event.objects.filter(organization__slug="demo").delete()


def test_transaction_mode_turns_off_server_side_cursors_and_prepared_statements():
    """What the flag changes, read from the settings a process gets (the flows above prove it is enough)."""
    script = "import json; from django.conf import settings as s; d = s.DATABASES['default']; "
    script += "print(json.dumps([d.get('DISABLE_SERVER_SIDE_CURSORS', False), d.get('OPTIONS', {}).get('prepare_threshold', 5)]))"
    base = {**os.environ, "DJANGO_SETTINGS_MODULE": "polar.settings.test"}
    on = subprocess.run(
        [sys.executable, "-c", script],
        env={**base, "DATABASE_POOLER_TRANSACTION_MODE": "1"},
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    off = subprocess.run(
        [sys.executable, "-c", script],
        env={**base, "DATABASE_POOLER_TRANSACTION_MODE": "0"},
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(on.stdout) == [True, None]
    assert json.loads(off.stdout) == [False, 5]
