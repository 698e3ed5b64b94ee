#!/usr/bin/env python3
"""``make mutate``: mutation testing of the money code, with a verdict.

Runs mutmut (configured in pyproject.toml's ``[tool.mutmut]``) over the pricing engine, periods, pricing
inputs, the tier engine, polar/money.py and the ledger's posting rules (payouts/rules.py) against the fast
tests that exercise them, then compares what
survived with mutation-equivalents.toml: the mutants that cannot change behaviour, each with its reason,
matched by function and by the exact line it changes (so the list survives renumbering). Exits 1 when a
mutant survives that is not listed there, printing its diff; 0 otherwise. Listed mutants that were killed
are reported too, so the list shrinks when the code does.

    scripts/mutate.py                       # the whole set (a few minutes on an idle 2-core machine)
    scripts/mutate.py "polar.money*"        # only these mutants (mutmut's name patterns)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "mutation-equivalents.toml"
BAD_STATES = {"survived", "no tests", "timeout", "suspicious", "segfault"}


def _mutmut() -> list[str]:
    found = shutil.which("mutmut", path=str(Path(sys.executable).parent)) or shutil.which("mutmut")
    if found is None:
        sys.exit("mutmut is not installed (it is in requirements.txt: make install)")
    return [found]


def _function(mutant: str) -> str:
    """``billing.pricing.engine.x_price__mutmut_101`` -> ``billing.pricing.engine.x_price``."""
    return re.sub(r"__mutmut_\d+$", "", mutant)


def _change(mutant: str) -> tuple[str, str]:
    """The line the mutant removes and the line it adds, stripped."""
    shown = subprocess.run([*_mutmut(), "show", mutant], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    removed = [line[1:].strip() for line in shown.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in shown.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return " / ".join(removed), " / ".join(added)


def main(patterns: list[str]) -> int:
    equivalents = tomllib.loads(EQUIVALENTS.read_text())["equivalent"]
    listed = {(entry["function"], entry["removed"].strip(), entry["added"].strip()): entry for entry in equivalents}
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # mutmut keeps results there: start from nothing
    run = subprocess.run([*_mutmut(), "run", *patterns], cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        print(run.stdout[-3000:], run.stderr[-3000:], sep="\n")
        return run.returncode
    results = subprocess.run([*_mutmut(), "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True)
    states: dict[str, str] = {}
    for line in results.stdout.splitlines():
        name, _, state = line.strip().rpartition(": ")
        if name:
            states[name] = state
    killed = sum(1 for state in states.values() if state == "killed")
    unexplained, explained = [], set()
    for mutant, state in sorted(states.items()):
        if state not in BAD_STATES:
            continue
        removed, added = _change(mutant)
        key = (_function(mutant), removed, added)
        if state == "survived" and key in listed:
            explained.add(key)
            continue
        unexplained.append((mutant, state, removed, added))
    print(
        f"{len(states)} mutants: {killed} killed, {len(explained)} equivalent (mutation-equivalents.toml), "
        f"{len(unexplained)} not killed and not explained"
    )
    for mutant, state, removed, added in unexplained:
        print(f"\n{mutant}: {state}\n  - {removed}\n  + {added}")
    stale = [entry for key, entry in listed.items() if key not in explained]
    if stale and not patterns:
        print("\nlisted as equivalent but no longer surviving (remove them from mutation-equivalents.toml):")
        for entry in stale:
            print(f"  {entry['function']}: {entry['removed']}  ->  {entry['added']}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
