# Two commands are all the set-up a fresh machine needs: `make demo` and `make test`.
# With DATABASE_URL / REDIS_URL unset, scripts/devservices.py runs an embedded PostgreSQL and Redis under
# .data/ for the length of the command (see README.md).

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
# The venv records the requirements it was installed from: pip runs again only when requirements.txt changes.
STAMP := $(VENV)/.requirements.txt
WITH_SERVICES := $(PY) scripts/devservices.py run --
PORT ?= 8000
PYTEST_ARGS ?=
# make test-random: the suite in a random order (pytest-randomly) fixed for a commit; the seed comes from the
# commit id and pytest prints it in its header, so make test-random SEED=N runs that order again.
SEED ?= $(shell printf '%d' 0x$$(git rev-parse --short=6 HEAD 2>/dev/null || echo 0))

.DEFAULT_GOAL := help
.PHONY: help install demo test test-random test-fast lint format migrate seed services services-stop services-status clean-data screenshots mutate chaos soak fuzz

help:
	@echo "make demo             migrate, seed the demo merchant, serve API + admin + docs, Celery worker and beat (PORT=$(PORT))"
	@echo "make test             lint, then the whole test suite on real PostgreSQL and Redis (PYTEST_ARGS='-k name' to narrow)"
	@echo "make screenshots      the browser tests (Chromium via Playwright) writing PNGs of the pages to docs/screenshots/"
	@echo "make test-random      the suite in a random order fixed per commit (SEED=N to repeat one)"
	@echo "make mutate           mutation testing of the money code (pricing engine, periods, inputs, tiers, money, ledger rules)"
	@echo "make chaos            crash PostgreSQL, restart Redis, kill the worker under ingestion and renewals; check nothing lost or doubled"
	@echo "make soak             10 minutes of mixed traffic (Locust) with p50/p99 per endpoint and memory per process (MINUTES=N)"
	@echo "make fuzz             schema fuzzing of every API operation and version, FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) requests each"
	@echo "make lint             ruff (lint and format check), import-linter contracts, module size, migration safety"
	@echo "make format           ruff format and ruff's safe fixes"
	@echo "make install          create $(VENV) and install requirements.txt (only when it changed)"
	@echo "make migrate          apply migrations and write the beat schedule into the database"
	@echo "make seed             seed the demo merchant again (idempotent) and print its token"
	@echo "make services         start the embedded PostgreSQL and Redis and leave them running; prints exports"
	@echo "make services-stop    stop them;  make services-status  show them"
	@echo "make clean-data       stop the embedded servers and delete .data/ (database, Redis, demo token)"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check --quiet -r requirements.txt
	cp requirements.txt $(STAMP)

install: $(STAMP)

# The import contracts and style rules live in pyproject.toml; docs/architecture.md says why.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=. $(VENV)/bin/lint-imports --no-cache
	$(PY) scripts/check_module_size.py
	$(PY) deploy/check_migrations.py

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: $(STAMP) lint
	$(WITH_SERVICES) $(PY) -m pytest --create-db -p no:randomly $(PYTEST_ARGS)

# The same suite in a random order (issue 23: tests must not depend on each other's leftovers).
test-random: $(STAMP)
	$(WITH_SERVICES) $(PY) -m pytest --create-db -p randomly --randomly-seed=$(SEED) $(PYTEST_ARGS)

# Keeps the test database between runs: faster when the migrations did not change.
test-fast: $(STAMP)
	$(WITH_SERVICES) $(PY) -m pytest --reuse-db -p no:randomly $(PYTEST_ARGS)

# The browser tests (pytest -m browser) with their screenshots kept in docs/screenshots/ (README shows two).
screenshots: $(STAMP)
	mkdir -p docs/screenshots
	POLAR_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(WITH_SERVICES) $(PY) -m pytest --create-db -m browser -p no:cacheprovider $(PYTEST_ARGS) tests/browser

# Mutation testing of the money code: fails on a surviving mutant not explained in mutation-equivalents.toml.
# Pure tests, no database: a few minutes on an idle machine. MUTANTS='polar.money*' narrows it.
mutate: $(STAMP)
	$(PY) scripts/mutate.py $(MUTANTS)

# Issue 21: both start a PostgreSQL and a Redis of their own under a temporary directory (never the shared ones),
# run the real processes on loopback and end by themselves (docs/chaos.md, docs/benchmarks.md).
chaos: $(STAMP)
	$(PY) bench/chaos.py $(CHAOS_ARGS)

MINUTES ?= 10
soak: $(STAMP)
	$(PY) bench/soak.py --minutes $(MINUTES)

# Schema fuzzing (docs/security.md): the suite's tests/security/test_schema_fuzz.py sends the same few generated
# requests per operation and version every run; this sends FUZZ_EXAMPLES of them, new ones each run
# (FUZZ_SEED, printed with any finding, repeats a run).
FUZZ_EXAMPLES ?= 20
FUZZ_SEED ?= $(shell date +%s)
fuzz: $(STAMP)
	FUZZ_MAX_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) $(WITH_SERVICES) $(PY) -m pytest --create-db -p no:randomly -p no:cacheprovider $(PYTEST_ARGS) tests/security/test_schema_fuzz.py

demo: $(STAMP)
	$(WITH_SERVICES) $(PY) scripts/demo.py --port $(PORT)

migrate: $(STAMP)
	$(WITH_SERVICES) $(PY) scripts/demo.py --prepare-only

seed: $(STAMP)
	$(WITH_SERVICES) $(PY) manage.py seed_demo

services: $(STAMP)
	@$(PY) scripts/devservices.py start

services-stop: $(STAMP)
	$(PY) scripts/devservices.py stop

services-status: $(STAMP)
	@$(PY) scripts/devservices.py status

clean-data:
	if [ -x $(PY) ]; then $(PY) scripts/devservices.py stop; fi
	rm -rf .data
