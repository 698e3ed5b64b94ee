"""deploy/Containerfile cannot be built here (no container runtime, no hadolint): it is checked to parse as
instructions and to name the commands of the web, worker, beat and migrate processes; gunicorn.conf.py loads
and stops gracefully."""

import os
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTRUCTIONS = {"FROM", "ENV", "WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "STOPSIGNAL", "CMD", "ARG", "LABEL"}


def instructions(text: str) -> list[tuple[str, str]]:
    result, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            keyword, _, rest = pending.strip().partition(" ")
            result.append((keyword, rest))
            pending = ""
    assert not pending, "a continued line never ends"
    return result


def test_containerfile_parses_and_names_every_process():
    text = (ROOT / "deploy" / "Containerfile").read_text()
    parsed = instructions(text)
    assert {keyword for keyword, _ in parsed} <= INSTRUCTIONS
    assert parsed[0][0] == "FROM" and "python:3.11" in parsed[0][1]
    assert ("STOPSIGNAL", "SIGTERM") in parsed
    assert ("CMD", '["gunicorn", "-c", "gunicorn.conf.py"]') in parsed
    assert any(keyword == "USER" and rest != "root" for keyword, rest in parsed)
    assert any(keyword == "RUN" and "pip install" in rest and "requirements.txt" in rest for keyword, rest in parsed)
    for command in ("celery -A polar worker", "celery -A polar beat", "manage.py migrate"):
        assert command in text


def test_gunicorn_config_loads_and_shuts_down_gracefully(monkeypatch):
    # The config sets PROMETHEUS_MULTIPROC_DIR in the environment: keep that out of this test process.
    monkeypatch.setattr(os, "environ", dict(os.environ))
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["wsgi_app"] == "polar.wsgi:application"
    assert config["graceful_timeout"] > 0
    assert callable(config["post_fork"]) and callable(config["child_exit"])
    assert "preload_app" not in config  # tracing installs Django's instrumentation in post_fork
