"""The contract harness proper: building the polar-sdk 1.0.x venv and driving it. Fixtures live in
conftest.py; tests import the helpers ``op``, ``ok`` and ``failed`` from here."""

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SDK10_VERSION = "1.0.2"
# The API versions polar-sdk 1.0.2 ships a client for (``polar.v2026_04`` ...): every 1.0 contract test runs
# through each of them (the ``sdk10`` fixture is parametrised).
SDK10_API_VERSIONS = ("2026-04", "2026-10", "2027-01")
REPO_ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).resolve().parent / "sdk10_driver.py"
SDK10_HOME = REPO_ROOT / ".data" / f"sdk-{SDK10_VERSION}"


@contextlib.contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # parallel test runs build the venv once
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_sdk10(python: str) -> bool:
    probe = "import importlib.metadata as m, polar.v2026_04; print(m.version('polar-sdk'))"
    result = subprocess.run([python, "-I", "-c", probe], capture_output=True, text=True, cwd=tempfile.gettempdir(), timeout=60)
    return result.returncode == 0 and result.stdout.strip() == SDK10_VERSION


def sdk10_python() -> str:
    """The interpreter of a venv with polar-sdk 1.0.x, building it on first use."""
    override = os.environ.get("POLAR_SDK10_PYTHON")
    if override:
        if not _check_sdk10(override):
            raise RuntimeError(f"POLAR_SDK10_PYTHON={override} does not import polar-sdk {SDK10_VERSION}")
        return override
    venv = SDK10_HOME / "venv"
    python = venv / "bin" / "python"
    marker = SDK10_HOME / "complete"
    with _file_lock(SDK10_HOME.parent / f"sdk-{SDK10_VERSION}.lock"):
        if marker.exists() and python.exists():
            return str(python)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"polar-sdk=={SDK10_VERSION}"],
            check=True,
            timeout=600,
            cwd=tempfile.gettempdir(),
        )
        if not _check_sdk10(str(python)):
            raise RuntimeError(f"the venv at {venv} does not import polar-sdk {SDK10_VERSION}")
        marker.write_text(SDK10_VERSION)
    return str(python)


class Sdk10:
    """Runs scenarios through polar-sdk 1.0.x in a subprocess (see sdk10_driver.py for the format)."""

    def __init__(self, python: str, base_url: str, access_token: str, version: str = "2026-10"):
        self.python = python
        self.base_url = base_url
        self.access_token = access_token
        self.version = version  # the API version package driven: polar.v2026_04 | v2026_10 | v2027_01

    def run(self, *operations: dict) -> list[dict]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "DJANGO", "VIRTUAL_ENV"))}
        env.update(POLAR_SDK_BASE_URL=self.base_url, POLAR_SDK_ACCESS_TOKEN=self.access_token, POLAR_SDK_API_VERSION=self.version)
        with tempfile.TemporaryDirectory() as cwd:  # never the repo: `polar` must be the SDK there
            completed = subprocess.run(
                [self.python, "-I", str(DRIVER)],
                input=json.dumps(list(operations)),
                capture_output=True,
                text=True,
                cwd=cwd,
                env=env,
                timeout=300,
            )
        if completed.returncode != 0:
            raise RuntimeError(f"sdk10 driver failed ({completed.returncode}):\n{completed.stderr}")
        return json.loads(completed.stdout)

    def call(self, call: str, *args, access_token: str | None = None, **kwargs):
        """One operation; returns its result or raises AssertionError carrying the SDK's error."""
        [entry] = self.run(op(call, *args, access_token=access_token, **kwargs))
        return ok(entry)


def op(call: str, *args, access_token: str | None = None, **kwargs) -> dict:
    """Build one driver operation: ``op("customers.get", "${0.id}")``."""
    operation = {"call": call, "args": list(args), "kwargs": kwargs}
    if access_token:
        operation["access_token"] = access_token
    return operation


def ok(entry: dict):
    """The result of a successful operation, or a failure that shows what the SDK said."""
    assert entry["ok"], f"polar-sdk {SDK10_VERSION} raised: {json.dumps(entry['error'], indent=2)}"
    return entry["result"]


def failed(entry: dict, error_class: str, status_code: int | None = None) -> dict:
    """The error of a failed operation, checked to be the typed error expected."""
    assert not entry["ok"], f"expected {error_class}, got {entry.get('class')}: {entry.get('result')}"
    error = entry["error"]
    assert error["class"] == error_class, error
    if status_code is not None:
        assert error["status_code"] == status_code, error
    return error
