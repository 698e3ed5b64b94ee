"""Discount applicability and redemption, including concurrent redemptions on real PostgreSQL."""

import datetime as dt
import threading

import pytest
from django.db import connections

from billing.discounts.services import (
    DiscountNotRedeemable,
    discount_amount_for,
    discount_applicable,
    discount_redeem,
)
from billing.models import Discount, DiscountRedemption
from polar import clock
from tests.factories import CustomerFactory, OrganizationFactory
from tests.factories.catalog import make_discount, make_product


@pytest.mark.django_db
def test_redeem_counts_the_redemption(organization):
    discount = make_discount(organization=organization, max_redemptions=2)
    customer = CustomerFactory(organization=organization)
    redemption = discount_redeem(discount=discount, customer=customer)
    discount.refresh_from_db()
    assert discount.redemptions_count == 1
    assert redemption.customer == customer


@pytest.mark.django_db
def test_redeem_refuses_past_max_redemptions(organization):
    discount = make_discount(organization=organization, max_redemptions=1)
    discount_redeem(discount=discount)
    with pytest.raises(DiscountNotRedeemable) as exc:
        discount_redeem(discount=discount)
    assert exc.value.reason == "max_redemptions"
    assert exc.value.errors[0]["loc"] == ["body", "discount_id"]
    assert DiscountRedemption.objects.count() == 1


@pytest.mark.django_db
def test_redeem_refuses_past_max_redemptions_per_customer(organization):
    discount = make_discount(organization=organization, max_redemptions_per_customer=1)
    alice, bob = CustomerFactory(organization=organization), CustomerFactory(organization=organization)
    discount_redeem(discount=discount, customer=alice)
    with pytest.raises(DiscountNotRedeemable) as exc:
        discount_redeem(discount=discount, customer=alice)
    assert exc.value.reason == "max_redemptions_per_customer"
    discount_redeem(discount=discount, customer=bob)
    discount.refresh_from_db()
    assert discount.redemptions_count == 2


@pytest.mark.django_db
def test_applicability_window(organization):
    now = clock.now()
    discount = make_discount(organization=organization, starts_at=now + dt.timedelta(days=1), ends_at=now + dt.timedelta(days=2))
    assert discount_applicable(discount=discount) is False
    assert discount_applicable(discount=discount, at=now + dt.timedelta(days=1, hours=1)) is True
    assert discount_applicable(discount=discount, at=now + dt.timedelta(days=2)) is False
    with pytest.raises(DiscountNotRedeemable) as exc:
        discount_redeem(discount=discount)
    assert exc.value.reason == "not_started"


@pytest.mark.django_db
def test_applicability_product_restriction_and_currency(organization):
    allowed = make_product(organization=organization, name="Allowed")
    other = make_product(organization=organization, name="Other")
    discount = make_discount(organization=organization, type="fixed", amounts={"usd": 500}, products=[allowed.pk])
    assert discount_applicable(discount=discount, product=allowed, currency="usd") is True
    assert discount_applicable(discount=discount, product=other) is False
    assert discount_applicable(discount=discount, product=allowed, currency="eur") is False


@pytest.mark.django_db
def test_deleted_discount_is_not_redeemable(organization):
    from billing.discounts.services import discount_delete

    discount = make_discount(organization=organization)
    discount_delete(discount=discount)
    with pytest.raises(DiscountNotRedeemable):
        discount_redeem(discount=discount)


@pytest.mark.django_db
def test_amount_off_rounds_half_away_from_zero_and_never_exceeds_the_line(organization):
    percentage = make_discount(organization=organization, basis_points=1250)
    assert discount_amount_for(discount=percentage, amount=1004, currency="usd") == 126  # 125.5 -> 126
    fixed = make_discount(organization=organization, name="Fixed", type="fixed", amounts={"usd": 500})
    assert discount_amount_for(discount=fixed, amount=300, currency="usd") == 300
    assert discount_amount_for(discount=fixed, amount=300, currency="eur") == 0


def _race(n_threads, target):
    """Run ``target(i)`` in n threads released at once; return (successes, failures)."""
    barrier = threading.Barrier(n_threads)
    results = []
    lock = threading.Lock()

    def run(i):
        try:
            barrier.wait()
            target(i)
            outcome = "ok"
        except DiscountNotRedeemable as exc:
            outcome = exc.reason
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_stop_exactly_at_max_redemptions():
    organization = OrganizationFactory(slug="race")
    discount = make_discount(organization=organization, max_redemptions=3)
    customers = [CustomerFactory(organization=organization) for _ in range(10)]

    results = _race(10, lambda i: discount_redeem(discount=Discount.objects.get(pk=discount.pk), customer=customers[i]))

    assert results.count("ok") == 3
    assert results.count("max_redemptions") == 7
    discount.refresh_from_db()
    assert discount.redemptions_count == 3
    assert DiscountRedemption.objects.filter(discount=discount).count() == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_by_one_customer_respect_the_per_customer_limit():
    organization = OrganizationFactory(slug="race-customer")
    discount = make_discount(organization=organization, max_redemptions_per_customer=1)
    customer = CustomerFactory(organization=organization)

    results = _race(6, lambda i: discount_redeem(discount=discount, customer=customer))

    assert results.count("ok") == 1
    assert DiscountRedemption.objects.filter(discount=discount, customer=customer).count() == 1


@pytest.mark.django_db
def test_redeeming_twice_for_one_checkout_counts_once(organization):
    import uuid

    discount = make_discount(organization=organization, max_redemptions=5)
    checkout_id = uuid.uuid4()
    first = discount_redeem(discount=discount, checkout_id=checkout_id)
    again = discount_redeem(discount=discount, checkout_id=checkout_id)
    assert again.pk == first.pk
    discount.refresh_from_db()
    assert discount.redemptions_count == 1
