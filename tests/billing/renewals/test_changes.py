"""Scheduled changes applied at the right cycle; usage in arrears with credits and caps; discounts."""

import datetime as dt

from django.core.management import call_command

from billing.benefits.services import benefit_create
from billing.catalog.services import product_benefits_set
from billing.models import BenefitGrant, Order, OrderStatus, PendingSubscriptionUpdate, SubscriptionStatus
from billing.subscriptions.changes import subscription_change_product
from billing.subscriptions.lifecycle import subscription_cancel
from polar import clock
from tests.factories.subscriptions import custom_benefit, monthly_product, percentage_discount

from .conftest import ingest, metered_product, subscribe


def at(month, day, hour=12):
    return dt.datetime(2026, month, day, hour, 0, tzinfo=dt.UTC)


def run_billing(now):
    call_command("run_billing", now=now.isoformat())


def cycle_orders(subscription):
    return list(Order.objects.filter(subscription=subscription, billing_reason="subscription_cycle").order_by("period_start"))


def test_cancel_at_period_end_ends_at_the_boundary_bills_final_usage_and_revokes_benefits(organization, customer, card, meter):
    product = metered_product(organization, meter)
    product_benefits_set(product=product, benefits=[custom_benefit(organization).id])
    subscription = subscribe(organization, customer, product)
    ingest(organization, customer, at(2, 5), 4)
    with clock.freeze(at(2, 10)):
        subscription_cancel(subscription=subscription)

    run_billing(at(2, 28))

    subscription.refresh_from_db()
    assert (subscription.status, subscription.ended_at) == (SubscriptionStatus.CANCELED, at(2, 28))
    assert not BenefitGrant.objects.filter(subscription_id=subscription.id, revoked_at__isnull=True).exists()
    (order,) = cycle_orders(subscription)
    assert [(i.label, i.amount) for i in order.items.all()] == [("API plan – API calls usage (2026-01-31 – 2026-02-28)", 2)]
    assert (order.total_amount, order.status) == (2, OrderStatus.PAID)
    run_billing(at(3, 31))
    assert len(cycle_orders(subscription)) == 1


def test_next_period_plan_change_applies_at_the_next_cycle_only(organization, customer, card, meter):
    product = metered_product(organization, meter)
    premium = monthly_product(organization, name="Premium", amount=3000)
    subscription = subscribe(organization, customer, product)
    ingest(organization, customer, at(2, 5), 10)
    with clock.freeze(at(2, 10)):
        subscription_change_product(subscription=subscription, product=premium, proration_behavior="next_period")

    run_billing(at(2, 28))

    subscription.refresh_from_db()
    (order,) = cycle_orders(subscription)
    # New plan in advance; the closed period's usage at the old plan's metered price.
    assert [(i.label, i.amount) for i in order.items.all()] == [
        ("Premium", 3000),
        ("API plan – API calls usage (2026-01-31 – 2026-02-28)", 5),
    ]
    assert subscription.product_id == premium.id
    assert subscription.amount == 3000
    assert PendingSubscriptionUpdate.objects.get(subscription=subscription).applied_at == at(2, 28)
    run_billing(at(3, 31))
    assert [(i.label, i.amount) for i in cycle_orders(subscription)[1].items.all()] == [("Premium", 3000)]


def test_trial_end_activates_and_bills_the_first_paid_period_without_trial_usage(organization, customer, card, meter):
    product = metered_product(organization, meter)
    subscription = subscribe(organization, customer, product, trial_end=at(2, 14))
    assert subscription.status == SubscriptionStatus.TRIALING
    ingest(organization, customer, at(2, 1), 10)

    run_billing(at(2, 14))

    subscription.refresh_from_db()
    (order,) = cycle_orders(subscription)
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert (subscription.current_period_start, subscription.current_period_end) == (at(2, 14), at(3, 14))
    assert [(i.label, i.amount) for i in order.items.all()] == [("API plan", 1000)]
    assert order.status == OrderStatus.PAID


def test_meter_credits_are_taken_off_and_the_cap_limits_the_usage_line(organization, customer, card, meter):
    product = metered_product(organization, meter, cap_amount=20)
    credit = benefit_create(
        organization=organization,
        type="meter_credit",
        description="10 free calls",
        properties={"units": 10, "meter_id": str(meter.id)},
    )
    product_benefits_set(product=product, benefits=[credit.id])
    subscription = subscribe(organization, customer, product)
    ingest(organization, customer, at(2, 3), 30)  # (30 − 10) × 0.5 = 10 ≤ cap
    run_billing(at(2, 28))
    ingest(organization, customer, at(3, 3), 80)  # (80 − 10) × 0.5 = 35 → capped at 20
    run_billing(at(3, 31))
    ingest(organization, customer, at(4, 3), 6)  # 6 − 10 < 0 → 0
    run_billing(at(4, 30))

    usage = [list(o.items.all())[1] for o in cycle_orders(subscription)]
    assert [i.amount for i in usage] == [10, 20, 0]
    assert [o.pricing_inputs["lines"][1]["credited_units"] for o in cycle_orders(subscription)] == ["10", "10", "10"]


def test_repeating_discount_applies_for_its_remaining_duration(organization, customer, card, meter):
    product = metered_product(organization, meter)
    discount = percentage_discount(organization, basis_points=1000, duration="repeating", duration_in_months=2)
    subscription = subscribe(organization, customer, product, discount=discount)
    run_billing(at(4, 30))
    orders = cycle_orders(subscription)
    # The first order (subscription_create) used month 1; the first cycle month 2; then none.
    assert [(o.discount_amount, o.total_amount) for o in orders] == [(100, 900), (0, 1000), (0, 1000)]
    assert [o.discount_id for o in orders] == [discount.id, None, None]


def test_unused_rollover_credit_carries_into_the_next_period(organization, customer, card, meter):
    """Credit that cannot roll over is used first; what is left of the rollover credit (and of credit
    carried in) moves to the next period, in whole units; billed = max(usage − credit, 0) each period."""
    product = metered_product(organization, meter)
    rolling = benefit_create(
        organization=organization,
        type="meter_credit",
        description="10 calls a month, unused ones kept",
        properties={"units": 10, "meter_id": str(meter.id), "rollover": True},
    )
    expiring = benefit_create(
        organization=organization,
        type="meter_credit",
        description="5 calls a month",
        properties={"units": 5, "meter_id": str(meter.id)},
    )
    product_benefits_set(product=product, benefits=[rolling.id, expiring.id])
    subscription = subscribe(organization, customer, product)
    ingest(organization, customer, at(2, 3), 3)  # credit 15: 12 unused, 10 of them may roll over
    run_billing(at(2, 28))
    ingest(organization, customer, at(3, 3), 10)  # credit 15 + 10 = 25: 15 unused, all rollover (10 + 10 carried ≥ 15)
    run_billing(at(3, 31))
    ingest(organization, customer, at(4, 3), 50)  # credit 15 + 15 = 30: 20 billed, nothing left
    run_billing(at(4, 30))
    ingest(organization, customer, at(5, 3), 20)  # credit back to 15: 5 billed
    run_billing(at(5, 31))

    lines = [o.pricing_inputs["lines"][1] for o in cycle_orders(subscription)]
    assert [(line["units"], line["credited_units"], line["rollover_units"]) for line in lines] == [
        ("3", "15", "10"),
        ("10", "25", "20"),
        ("50", "30", "25"),
        ("20", "15", "10"),
    ]
    assert [list(o.items.all())[1].amount for o in cycle_orders(subscription)] == [0, 0, 10, 3]  # 20 × 0.5; 5 × 0.5 → 3
    call_command("billing_verify")  # the stored inputs still price to the stored amounts


def test_customer_meter_shows_the_credit_carried_in(organization, customer, card, meter):
    product = metered_product(organization, meter)
    rolling = benefit_create(
        organization=organization,
        type="meter_credit",
        description="10 kept",
        properties={"units": 10, "meter_id": str(meter.id), "rollover": True},
    )
    product_benefits_set(product=product, benefits=[rolling.id])
    subscribe(organization, customer, product)
    ingest(organization, customer, at(2, 3), 4)  # 6 of 10 unused: carried into March
    run_billing(at(2, 28))
    ingest(organization, customer, at(3, 2), 1)
    from billing.usage.selectors import customer_meter_list

    with clock.freeze(at(3, 5)):
        (row,) = customer_meter_list(organization=organization, customer_ids=[customer.id])
    assert (row.units.credited, row.units.consumed, row.units.balance) == (16, 1, 15)
