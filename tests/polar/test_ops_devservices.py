"""scripts/devservices.py: the embedded PostgreSQL and Redis behind `make test` and `make demo`."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

SCRIPT = str(settings.BASE_DIR / "scripts" / "devservices.py")

# Run by the child under devservices: proves both URLs point at live servers.
PROBE = """
import os, psycopg, redis
with psycopg.connect(os.environ["DATABASE_URL"].replace("postgres://", "postgresql://")) as conn:
    print("postgres", conn.execute("select current_database()").fetchone()[0])
print("redis", redis.Redis.from_url(os.environ["REDIS_URL"]).ping())
"""


def run(args, env, timeout=120):
    return subprocess.run(
        [sys.executable, SCRIPT, *args], env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def clean_env(data_dir, **extra) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    return {**env, "POLAR_DATA_DIR": str(data_dir), **extra}


def test_run_uses_the_servers_in_the_environment_and_returns_the_command_exit_code(tmp_path):
    env = clean_env(tmp_path, DATABASE_URL="postgres://u@db.example:5432/x", REDIS_URL="redis://cache.example:6379/3")
    result = run(
        [
            "run",
            "--",
            sys.executable,
            "-c",
            "import os, sys; print(os.environ['DATABASE_URL'], os.environ['REDIS_URL']); sys.exit(7)",
        ],
        env,
    )
    assert result.returncode == 7
    assert result.stdout.strip() == "postgres://u@db.example:5432/x redis://cache.example:6379/3"
    assert not (tmp_path / "pg").exists() and not (tmp_path / "redis").exists()


@pytest.mark.slow
def test_run_starts_embedded_servers_keeps_their_data_and_stops_them(tmp_path):
    env = clean_env(tmp_path)
    first = run(["run", "--", sys.executable, "-c", PROBE], env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == ["postgres polar", "redis True"]
    assert "initialising PostgreSQL" in first.stderr

    second = run(["run", "--", sys.executable, "-c", PROBE], env)
    assert second.returncode == 0, second.stderr
    assert "initialising PostgreSQL" not in second.stderr  # the data directory was kept

    status = run(["status"], env)
    assert "postgresql: stopped" in status.stdout and "redis:      stopped" in status.stdout
    assert not (tmp_path / "pg" / "postmaster.pid").exists()
