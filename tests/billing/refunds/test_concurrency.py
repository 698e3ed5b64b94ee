"""Concurrent refunds of one order on real PostgreSQL: the order's row lock and the pending rows keep
the sum of refunds within the order's total, whatever the interleaving."""

import threading

import pytest
from django.db import connections

from billing.models import Refund, SandboxRefund
from billing.refunds.services import RefundedAlready, refund_create
from polar.errors import PolarRequestValidationError
from tests.factories import OrganizationFactory

from .conftest import paid_order

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_refunds_never_exceed_the_order(settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    organization = OrganizationFactory(slug="refund-race")
    order = paid_order(organization, amount=2000)
    outcomes = []
    barrier = threading.Barrier(8)

    def attempt():
        try:
            barrier.wait()
            outcomes.append(refund_create(organization=organization, order_id=order.id, amount=600, reason="other").status)
        except (RefundedAlready, PolarRequestValidationError) as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("succeeded") == 3  # 3 × 600 = 1800 ≤ 2000 < 4 × 600
    order.refresh_from_db()
    assert order.refunded_amount == 1800
    assert sum(Refund.objects.filter(order=order, status="succeeded").values_list("amount", flat=True)) == 1800
    assert sum(SandboxRefund.objects.values_list("amount", flat=True)) == 1800
