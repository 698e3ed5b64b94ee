"""The SLO recording rules and burn-rate alerts (deploy/prometheus/) are valid, behave as their unit tests say,
watch metrics the application really exports, and each alert has a runbook."""

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules" / "slo.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (Debian's 'prometheus' package; .ci/run installs it)"
)


def generator():
    spec = importlib.util.spec_from_file_location("generate_rules", PROMETHEUS / "generate_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_rules_file_is_what_the_generator_writes():
    assert RULES.read_text() == generator().render(), "run: .venv/bin/python deploy/prometheus/generate_rules.py"


@needs_promtool
def test_promtool_check_rules():
    result = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_promtool_unit_tests_of_the_alerts():
    tests = sorted((PROMETHEUS / "tests").glob("*.yml"))
    assert tests
    result = subprocess.run(
        [PROMTOOL, "test", "rules", *map(str, tests)], capture_output=True, text=True, timeout=120, cwd=PROMETHEUS
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_runbook_with_its_sections():
    for alert in generator().alert_names():
        runbook = ROOT / "docs" / "runbooks" / f"{alert}.md"
        assert runbook.exists(), runbook
        text = runbook.read_text()
        for section in ("## What it means", "## Confirm", "## Fix"):
            assert section in text, (alert, section)
    assert f"docs/runbooks/{alert}.md" in RULES.read_text()


@pytest.mark.django_db
def test_the_rules_watch_metrics_the_application_exports():
    """Every polar_* name in the rules is on /metrics (histograms by their _bucket/_count series)."""
    exported = set()
    for line in Client().get("/metrics").content.decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")[:4]
            exported |= {name, f"{name}_total", f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    used = set(re.findall(r"\b(polar_[a-z_]+)", RULES.read_text()))
    assert used and used <= exported, used - exported


@needs_promtool
def test_promtool_check_config():
    result = subprocess.run(
        [PROMTOOL, "check", "config", str(PROMETHEUS / "prometheus.yml")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
