"""Real transactions and threads: the crash marker is committed before the processor is called, the
processor is called with no transaction open, and two racing charges with one key charge once."""

import threading

import pytest
from django.db import connection, connections

from billing.models import Payment, SandboxCharge
from billing.payments import services as payment_services
from billing.payments.processors.sandbox import SandboxProcessor
from tests.factories import CustomerFactory, OrganizationFactory
from tests.factories.payments import attach_card

pytestmark = pytest.mark.django_db(transaction=True)


def _in_other_connection(fn):
    """Run ``fn`` in a thread, i.e. on its own database connection, and return its result."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return box["value"]


def test_marker_is_committed_and_no_transaction_is_open_when_the_processor_charges(monkeypatch):
    customer = CustomerFactory(organization=OrganizationFactory(slug="tx-acme"))
    method = attach_card(customer)
    seen = {}

    class SpyProcessor(SandboxProcessor):
        def charge(self, **kwargs):
            seen["in_atomic_block"] = connection.in_atomic_block
            seen["marker_visible_elsewhere"] = _in_other_connection(
                lambda: Payment.objects.filter(idempotency_key=kwargs["idempotency_key"], status="pending").exists()
            )
            return super().charge(**kwargs)

    monkeypatch.setattr(payment_services, "get_processor", lambda name=None: SpyProcessor())
    payment = payment_services.payment_charge(
        customer=customer, payment_method=method, amount=1000, currency="usd", idempotency_key="order:tx:attempt:1"
    )
    assert payment.status == "succeeded"
    assert seen == {"in_atomic_block": False, "marker_visible_elsewhere": True}


def test_two_racing_charges_with_one_key_make_one_charge_and_one_payment():
    customer = CustomerFactory(organization=OrganizationFactory(slug="race-acme"))
    method = attach_card(customer)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(
                payment_services.payment_charge(
                    customer=customer, payment_method=method, amount=1000, currency="usd", idempotency_key="order:race:attempt:1"
                ).id
            )
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(results)) == 1
    assert Payment.objects.get().status == "succeeded"
    assert SandboxCharge.objects.count() == 1
