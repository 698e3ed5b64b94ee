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


def test_no_card_on_file_is_a_failed_attempt_without_a_charge_and_a_new_card_recovers(
    organization, customer, product, mailoutbox
):
    from billing.payments.services import payment_method_delete

    subscription = subscribe(organization, customer, product, token=None)
    with clock.freeze(RENEWAL - HOUR):
        for method in customer.payment_methods.all():
            payment_method_delete(payment_method=method)
        subscription.refresh_from_db()
        subscription.payment_method = None
        subscription.save(update_fields=["payment_method"])
    run_billing(RENEWAL)
    run_billing(RENEWAL)  # the renewal's hook again: still one "no card" attempt
    run_billing(SLOTS[0])

    case = DunningCase.objects.get(subscription=subscription)
    assert list(case.attempts.values_list("kind", "attempt_number", "decline_code")) == [
        ("initial", None, "no_payment_method"),
        ("scheduled", None, "no_payment_method"),
    ]
    order = Order.objects.get(pk=case.order_id)
    assert payments(order) == []
    assert len(mailoutbox) == 2
    with clock.freeze(SLOTS[0] + HOUR):
        attach_card(customer, "pm_card_visa")
        dunning_retry_for_customer(customer=customer)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert [p.idempotency_key for p in payments(order)] == [f"order:{order.id}:attempt:1"]


def test_an_email_that_could_not_be_sent_goes_out_at_the_next_step(subscription, mailoutbox, monkeypatch):
    from django.core.mail import EmailMultiAlternatives

    real_send = EmailMultiAlternatives.send

    def down(self, *args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr(EmailMultiAlternatives, "send", down)
    run_billing(RENEWAL)
    assert mailoutbox == []
    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    run_billing(RENEWAL + HOUR)
    assert len(mailoutbox) == 1
    run_billing(RENEWAL + 2 * HOUR)
    assert len(mailoutbox) == 1


def test_a_second_failed_renewal_has_its_own_case_and_a_revocation_ends_both(organization, subscription, mailoutbox):
    DunningSettings.objects.create(organization=organization, retry_intervals_days=[20, 20])
    run_billing(RENEWAL)
    second_renewal = dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)
    run_billing(second_renewal)
    first, second = DunningCase.objects.filter(subscription=subscription).order_by("started_at")
    assert (first.status, second.status) == ("open", "open")
    assert second.deadline_at == second_renewal + dt.timedelta(days=40)

    run_billing(RENEWAL + dt.timedelta(days=20))
    run_billing(RENEWAL + dt.timedelta(days=40))  # the first case's deadline: revoked
    run_billing(RENEWAL + dt.timedelta(days=40, hours=1))

    subscription.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert subscription.status == "canceled"
    assert (first.status, second.status) == ("exhausted", "closed")
    assert set(
        Order.objects.filter(subscription=subscription, billing_reason="subscription_cycle").values_list("status", flat=True)
    ) == {"void"}
    attempts_before = DunningAttempt.objects.count()
    run_billing(second.deadline_at)
    assert DunningAttempt.objects.count() == attempts_before
