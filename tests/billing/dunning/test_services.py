"""Dunning services directly: the slot guard, the grace period, organization settings, the recovery rate."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from billing.dunning.selectors import dunning_recovery_rate_by_month
from billing.dunning.services import dunning_retry_for_customer, dunning_run_due
from billing.models import DunningAttempt, DunningAttemptKind, DunningCase, DunningSettings, Order, OrderStatus
from polar import clock
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card

from .conftest import HOUR, RENEWAL, SLOTS, active_grants, payments, run_billing, subscribe


def test_a_slot_cannot_be_attempted_twice(subscription):
    run_billing(RENEWAL)
    run_billing(SLOTS[0])
    case = DunningCase.objects.get(subscription=subscription)
    with pytest.raises(IntegrityError), transaction.atomic():
        DunningAttempt.objects.create(case=case, order_id=case.order_id, kind=DunningAttemptKind.SCHEDULED, slot=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        DunningAttempt.objects.create(case=case, order_id=case.order_id, kind=DunningAttemptKind.MERCHANT, attempt_number=2)


def test_the_step_repeated_as_a_queue_would_makes_one_attempt_per_slot(subscription):
    run_billing(RENEWAL)
    with clock.freeze(SLOTS[0]):
        first = dunning_run_due(now=SLOTS[0])
        second = dunning_run_due(now=SLOTS[0])
        late = dunning_run_due(now=SLOTS[0] + HOUR)
    assert (first["attempted"], second["attempted"], late["attempted"]) == (1, 0, 0)
    order = Order.objects.get(subscription=subscription, status=OrderStatus.PENDING)
    assert len(payments(order)) == 2


def test_benefits_stay_for_the_organizations_grace_period_then_are_suspended(organization, subscription):
    DunningSettings.objects.create(organization=organization, grace_period_days=3)
    run_billing(RENEWAL)
    run_billing(RENEWAL + dt.timedelta(days=3) - HOUR)
    assert active_grants(subscription) == 1
    run_billing(RENEWAL + dt.timedelta(days=3))
    assert active_grants(subscription) == 0
    assert DunningCase.objects.get(subscription=subscription).benefits_suspended_at == RENEWAL + dt.timedelta(days=3)


def test_the_organizations_schedule_is_used(organization, subscription):
    DunningSettings.objects.create(organization=organization, retry_intervals_days=[1, 3])
    run_billing(RENEWAL)
    case = DunningCase.objects.get(subscription=subscription)
    assert case.deadline_at == RENEWAL + dt.timedelta(days=4)
    run_billing(RENEWAL + dt.timedelta(days=1))
    run_billing(RENEWAL + dt.timedelta(days=4))
    subscription.refresh_from_db()
    assert subscription.status == "canceled"
    assert len(payments(Order.objects.get(subscription=subscription, billing_reason="subscription_cycle"))) == 3


def test_retry_for_a_customer_with_nothing_past_due_does_nothing(customer):
    assert dunning_retry_for_customer(customer=customer) == []


def test_retry_for_customer_is_scoped_to_that_customer(organization, product, subscription):
    other = CustomerFactory(organization=organization, email="bob@example.com")
    other_subscription = subscribe(organization, other, product)
    run_billing(RENEWAL)
    with clock.freeze(RENEWAL + HOUR):
        attach_card(subscription.customer, "pm_card_visa")
        tried = dunning_retry_for_customer(customer=subscription.customer)
    assert [o.subscription_id for o in tried] == [subscription.id]
    other_order = Order.objects.get(subscription=other_subscription, billing_reason="subscription_cycle")
    assert other_order.status == OrderStatus.PENDING and len(payments(other_order)) == 1


def test_recovery_rate_per_month(organization, product, subscription):
    lost = subscribe(organization, CustomerFactory(organization=organization, email="lost@example.com"), product)
    run_billing(RENEWAL)
    with clock.freeze(RENEWAL + HOUR):
        attach_card(subscription.customer, "pm_card_visa")
        dunning_retry_for_customer(customer=subscription.customer)
    for slot in SLOTS:
        run_billing(slot)

    (row,) = dunning_recovery_rate_by_month(organization=organization)
    assert row["month"] == dt.date(2026, 2, 1)
    assert (row["cases"], row["recovered"], row["exhausted"], row["open"]) == (2, 1, 1, 0)
    assert (row["amount_at_risk"], row["amount_recovered"], row["recovery_rate"]) == (4000, 2000, 0.5)
    assert lost.id != subscription.id
