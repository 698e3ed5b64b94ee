"""Uniqueness under concurrency: the unique indexes decide, and a lost race is the same 422."""

import threading
import time

import pytest
from django.db import connection, connections, transaction
from rest_framework.test import APIClient

from customers.models import Customer
from customers.services import customer_create
from polar.errors import PolarRequestValidationError
from polar.webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _run_in_threads(*targets):
    results = [None] * len(targets)

    def wrap(index, target):
        try:
            results[index] = target()
        except Exception as exc:  # the test inspects it
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrap, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_concurrent_creates_with_one_email_give_one_201_and_one_422(token):
    barrier = threading.Barrier(2)

    def create(email):
        def post():
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            barrier.wait(timeout=10)
            return client.post("/v1/customers/", {"email": email}, format="json")

        return post

    first, second = _run_in_threads(create("race@example.com"), create("RACE@example.com"))
    assert sorted([first.status_code, second.status_code]) == [201, 422]
    refused = first if first.status_code == 422 else second
    assert [error["loc"] for error in refused.json()["detail"]] == [["body", "email"]]
    assert Customer.objects.count() == 1
    assert WebhookEvent.objects.filter(type="customer.created").count() == 1


def _wait_for_lock_waiter(timeout=10.0):
    """Block until another backend waits on a lock (the second insert, held by the unique index)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the second insert never waited on the first")


@pytest.mark.parametrize("field", ["email", "external_id"])
def test_a_lost_race_past_the_pre_check_is_mapped_to_the_same_422(organization, field):
    """The first create holds its uncommitted row; the second passes the pre-check (it cannot see
    the row), blocks on the unique index, and fails when the first commits: the IntegrityError
    path, deterministically."""
    first_inserted = threading.Event()
    release_first = threading.Event()
    values = {"email": {"email": "jane@example.com"}, "external_id": {"email": "a@example.com", "external_id": "u1"}}
    second_values = {"email": {"email": "JANE@example.com"}, "external_id": {"email": "b@example.com", "external_id": "u1"}}

    def first():
        with transaction.atomic():
            customer = customer_create(organization=organization, **values[field])
            first_inserted.set()
            release_first.wait(timeout=10)
        return customer

    def second():
        first_inserted.wait(timeout=10)
        return customer_create(organization=organization, **second_values[field])

    def referee():
        first_inserted.wait(timeout=10)
        _wait_for_lock_waiter()
        release_first.set()

    created, refused, _ = _run_in_threads(first, second, referee)
    assert isinstance(created, Customer)
    assert isinstance(refused, PolarRequestValidationError), refused
    assert [error["loc"] for error in refused.errors] == [["body", field]]
    assert Customer.objects.count() == 1
    assert WebhookEvent.objects.count() == 1
