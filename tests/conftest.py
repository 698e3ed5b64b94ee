"""Fixtures shared by the whole suite: two merchants with tokens, and API clients for each.

Organization B exists in every API test so that tenant isolation can be checked anywhere.
"""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from polar.organizations.services import access_token_create
from tests.factories import OrganizationFactory

# The events tables are partitioned and unmanaged: Django's flush after a transactional test leaves them alone,
# and with --reuse-db the database outlives the run. Both would leave events for later tests to count.
UNMANAGED_TABLES = (
    "billing_event",
    "billing_event_external_id",
    # The rollups derived from them (raw SQL tables, unknown to the flush as well).
    "billing_meter_rollup",
    "billing_meter_rollup_state",
    "billing_event_cost_rollup",
    "billing_event_activity",
    "billing_event_activity_day",
    "billing_event_rollup_state",
)


def _truncate_unmanaged_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(UNMANAGED_TABLES)}")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's database set-up, then no events from an earlier run of a reused database."""
    with django_db_blocker.unblock():
        _truncate_unmanaged_tables()


@pytest.fixture(autouse=True)
def _no_events_left_by_a_transactional_test(request, django_db_blocker):
    yield
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction", False)) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if transactional:
        with django_db_blocker.unblock():
            _truncate_unmanaged_tables()


@pytest.fixture
def organization(db):
    return OrganizationFactory(slug="acme", name="Acme")


@pytest.fixture
def other_organization(db):
    return OrganizationFactory(slug="globex", name="Globex")


@pytest.fixture
def token(organization):
    _row, raw = access_token_create(organization=organization, comment="tests")
    return raw


@pytest.fixture
def other_token(other_organization):
    _row, raw = access_token_create(organization=other_organization, comment="tests")
    return raw


def _client(raw_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
    return client


@pytest.fixture
def api_client(token):
    """An API client authenticated as organization A (``organization``)."""
    return _client(token)


@pytest.fixture
def other_api_client(other_token):
    """An API client authenticated as organization B (``other_organization``)."""
    return _client(other_token)


@pytest.fixture
def anonymous_client():
    return APIClient()


@pytest.fixture(autouse=True)
def _fresh_rate_limit_counters():
    """Every test starts with no rate-limit counter left by an earlier one: the failed-authentication
    lockout counts per client address, and every test client is 127.0.0.1, so a test that sends wrong
    credentials on purpose (tests/polar/api/test_no_server_errors.py sends an organization token to every
    customer-portal route) would otherwise lock the following tests out for ten minutes."""
    from polar import ratelimit

    ratelimit.flush_all()


@pytest.fixture(autouse=True)
def _celery_join_flag_reset():
    """Every test starts with Celery's "inside a task" flag off. In eager mode (tests only) ``apply_async``
    sets that process-wide flag around the task and puts back what it found; two threads doing it at once
    (the concurrency tests commit in threads, and each commit runs its on-commit task eagerly) can exit in
    the other's order and leave it on, after which any later ``result.get()`` raises "Never call
    result.get() within a task!". Real workers never run eagerly, so only the test process needs this."""
    from celery.result import _set_task_join_will_block

    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _no_audit_actor_left_behind():
    """Every test starts with no audit actor in auditlog's context variable. auditlog's own ``set_actor``
    (used directly by tests of how our contexts nest inside it) leaves its value in the variable when it
    exits, and all tests share one thread: bulk audit writes of a later test (``audit_log_many``) then named
    that test's user, long deleted, as their actor (a foreign-key error; found by a random-order run).
    Production code enters contexts only through ``polar.audit``, which puts the outer value back."""
    from auditlog.context import auditlog_value

    auditlog_value.set({"signal_duid": None})
