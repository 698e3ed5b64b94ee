"""The README's quickstart is run as written: its ``sh`` blocks, read from README.md, in one bash against a
live test server, with the merchant's token in ``POLAR_TOKEN``. What they print is checked, and what they
wrote is in the database: a README that stops matching the API fails here."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from billing.models import Event, Subscription

pytestmark = pytest.mark.contract

README = Path(__file__).resolve().parents[2] / "README.md"


def quickstart_blocks() -> list[str]:
    text = README.read_text()
    section = text[text.index("## Quickstart") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"^```sh\n(.*?)^```", section, flags=re.S | re.M)


def _printed(stdout: str) -> list:
    """Every JSON value the blocks printed, in order (jq prints objects over several lines)."""
    decoder, values, index = json.JSONDecoder(), [], 0
    while index < len(stdout):
        if stdout[index].isspace():
            index += 1
            continue
        value, index = decoder.raw_decode(stdout, index)
        values.append(value)
    return values


def test_the_readme_quickstart_runs_as_written(live_server, contract_token, contract_organization, tmp_path):
    missing = [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the README quickstart needs {', '.join(missing)}, not installed here")
    blocks = quickstart_blocks()
    assert len(blocks) == 7, blocks
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "POLAR_URL": live_server.url, "POLAR_TOKEN": contract_token}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(blocks)],
        cwd=tmp_path,  # no .data/demo_token here: the token must come from POLAR_TOKEN
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    confirmed, subscription, order, ingested, total, state = _printed(done.stdout)
    assert confirmed == {"status": "confirmed", "total_amount": 2000, "currency": "usd"}
    assert (subscription["status"], subscription["amount"]) == ("active", 2000)
    assert order == {"billing_reason": "subscription_create", "status": "paid", "total_amount": 2000}
    assert ingested == {"inserted": 3, "duplicates": 0}
    assert total == 3
    assert state["subscriptions"] == ["active"]
    [meter] = state["meters"]
    assert meter["consumed_units"] == 3

    row = Subscription.objects.get(pk=subscription["id"])
    assert (row.organization_id, row.customer.external_id, row.product.name) == (
        contract_organization.id,
        "user-42",
        "Quickstart plan",
    )
    assert Event.objects.filter(organization=contract_organization, name="api_call").count() == 3
