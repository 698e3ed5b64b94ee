"""The official TypeScript SDK (@polar-sh/sdk, pinned in package.json / package-lock.json) drives the live
server through the core operations in the default API version (2026-10) and in 2026-04 (run.mjs): products,
customers, checkouts, subscriptions, meters (create, list, get, quantities), events (ingest with a
duplicate, list, get), customer meters, the customer state and orders, a 404 and a 422.

``npm ci`` installs it into tests/contract_ts/node_modules (git-ignored) when it is absent. Skipped, saying
so, only when node or npm is not installed."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent

pytestmark = pytest.mark.contract


@pytest.fixture(scope="session")
def typescript_sdk():
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed: the TypeScript SDK contract suite cannot run")
    if not (HERE / "node_modules" / "@polar-sh" / "sdk" / "package.json").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=300, capture_output=True)
    return node


@pytest.mark.parametrize("version", ["2026-10", "2026-04"])
def test_typescript_sdk_core_operations(typescript_sdk, live_server, contract_token, version):
    done = subprocess.run(
        [typescript_sdk, "run.mjs", live_server.url, contract_token, version],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=300,
    )
    checks = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    failed = [check for check in checks if not check["ok"]]
    assert done.returncode == 0 and not failed, failed or done.stderr
    assert [check["check"] for check in checks] == [
        "products.create",
        "products.list",
        "customers.create and get",
        "checkouts.create",
        "subscriptions.list",
        "meters.create, list and get",
        "subscriptions.create on a metered product",
        "events.ingest",
        "events.list",
        "meters.quantities",
        "customers.getState",
        "customerMeters.list",
        "orders.list",
        "404 ResourceNotFound",
        "422 HTTPValidationError",
    ]
