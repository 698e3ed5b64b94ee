"""Dunning through time travel (run_billing --now) and the sandbox cards: past due, retried exactly on the
schedule, recovered with a new card; or ended at the deadline as the organization chose."""

import datetime as dt
import re

from billing.dunning.services import dunning_retry_for_customer
from billing.models import (
    DunningAttempt,
    DunningCase,
    DunningCaseStatus,
    DunningEndAction,
    DunningSettings,
    Order,
    OrderBillingReason,
    OrderStatus,
    Payment,
    SubscriptionStatus,
)
from billing.portal.sessions import customer_session_authenticate
from polar import clock
from tests.factories.payments import attach_card

from .conftest import DEADLINE, HOUR, RENEWAL, SLOTS, active_grants, events, payments, run_billing, subscribe


def cycle_order(subscription) -> Order:
    return Order.objects.get(subscription=subscription, billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE)


def test_failing_card_goes_past_due_with_the_first_retry_scheduled(organization, subscription, mailoutbox):
    run_billing(RENEWAL)

    subscription.refresh_from_db()
    order = cycle_order(subscription)
    assert subscription.status == SubscriptionStatus.PAST_DUE
    assert subscription.past_due_at == RENEWAL
    assert (order.status, order.payment_attempts, order.next_payment_attempt_at) == (OrderStatus.PENDING, 1, SLOTS[0])
    assert [p.decline_reason for p in payments(order)] == ["card_declined"]
    assert events(organization, "subscription.past_due") == 1
    case = DunningCase.objects.get(order=order)
    assert (case.status, case.next_slot, case.deadline_at) == (DunningCaseStatus.OPEN, 1, DEADLINE)
    # Benefits stay during the grace period.
    assert active_grants(subscription) == 1
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["ada@example.com"]
    assert "failed" in mail.subject
    assert "2 March 2026" in mail.body and "card ending in 0341" in mail.body
    # The link signs the customer into the portal (a customer session of billing.portal).
    link = re.search(r"(http\S+/portal/\?customer_session_token=(\S+))", mail.body)
    assert link is not None and link.group(1) in mail.alternatives[0][0]
    with clock.freeze(RENEWAL + dt.timedelta(minutes=30)):  # a session lives one hour (CUSTOMER_SESSION_TTL)
        session = customer_session_authenticate(link.group(2))
    assert session is not None and session.customer_id == subscription.customer_id


def test_retries_happen_exactly_on_schedule_and_a_new_card_recovers(organization, customer, subscription, mailoutbox):
    run_billing(RENEWAL)
    order = cycle_order(subscription)

    run_billing(SLOTS[0] - HOUR)
    assert len(payments(order)) == 1
    run_billing(SLOTS[0])
    attempts = payments(order)
    assert [p.idempotency_key for p in attempts] == [f"order:{order.id}:attempt:1", f"order:{order.id}:attempt:2"]
    assert attempts[1].trigger == Payment.Trigger.RETRY_DUNNING
    assert attempts[1].status == Payment.Status.FAILED
    order.refresh_from_db()
    assert order.next_payment_attempt_at == SLOTS[1]
    run_billing(SLOTS[1] - HOUR)
    assert len(payments(order)) == 2
    run_billing(SLOTS[1])
    assert len(payments(order)) == 3
    assert len(mailoutbox) == 3

    # The grace period (7 days) is over at the second retry: benefits suspended until recovery.
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAST_DUE
    assert active_grants(subscription) == 0

    with clock.freeze(SLOTS[1] + dt.timedelta(days=1)):
        attach_card(customer, "pm_card_visa")
        tried = dunning_retry_for_customer(customer=customer)

    assert [o.id for o in tried] == [order.id]
    order.refresh_from_db()
    subscription.refresh_from_db()
    assert (order.status, order.next_payment_attempt_at) == (OrderStatus.PAID, None)
    assert subscription.status == SubscriptionStatus.ACTIVE and subscription.past_due_at is None
    assert active_grants(subscription) == 1
    assert payments(order)[-1].trigger == Payment.Trigger.RETRY_PAYMENT_METHOD_UPDATE
    assert DunningCase.objects.get(order=order).status == DunningCaseStatus.RECOVERED
    assert events(organization, "order.paid") == 2  # the first order and this one
    assert events(organization, "subscription.active") == 2  # at creation and on recovery
    assert [m.subject.startswith("Payment received") for m in mailoutbox] == [False, False, False, True]

    # The schedule is cleared: later slots attempt nothing.
    for instant in SLOTS[2:]:
        run_billing(instant)
    assert len(payments(order)) == 4
    assert len(mailoutbox) == 4


def _run_through_deadline():
    for instant in SLOTS:
        run_billing(instant)


def test_never_recovering_ends_revoked_at_the_deadline(organization, subscription, mailoutbox):
    run_billing(RENEWAL)
    _run_through_deadline()

    subscription.refresh_from_db()
    order = cycle_order(subscription)
    assert len(payments(order)) == 5  # the renewal and the four retries
    assert [a.slot for a in DunningAttempt.objects.filter(order=order)] == [None, 1, 2, 3, 4]
    assert subscription.status == SubscriptionStatus.CANCELED
    assert subscription.ended_at == DEADLINE
    assert order.status == OrderStatus.VOID and order.next_payment_attempt_at is None
    assert active_grants(subscription) == 0
    assert events(organization, "subscription.revoked") == 1
    assert DunningCase.objects.get(order=order).status == DunningCaseStatus.EXHAUSTED
    assert len(mailoutbox) == 5
    assert "has ended" in mailoutbox[-1].subject
    # Nothing after the deadline.
    run_billing(DEADLINE + dt.timedelta(days=7))
    assert len(payments(order)) == 5 and len(mailoutbox) == 5


def test_never_recovering_ends_unpaid_when_configured_and_paying_brings_it_back(organization, customer, subscription, mailoutbox):
    DunningSettings.objects.create(organization=organization, end_action=DunningEndAction.UNPAID)
    run_billing(RENEWAL)
    _run_through_deadline()

    subscription.refresh_from_db()
    order = cycle_order(subscription)
    assert subscription.status == SubscriptionStatus.UNPAID
    assert order.status == OrderStatus.PENDING and order.next_payment_attempt_at is None
    assert active_grants(subscription) == 0
    assert len(payments(order)) == 5 and len(mailoutbox) == 5
    assert "on hold" in mailoutbox[-1].body

    with clock.freeze(DEADLINE + dt.timedelta(days=2)):
        attach_card(customer, "pm_card_visa")
        dunning_retry_for_customer(customer=customer)

    subscription.refresh_from_db()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert active_grants(subscription) == 1
    assert len(mailoutbox) == 6


def test_hard_decline_skips_to_one_final_attempt_at_the_deadline(organization, customer, product, mailoutbox):
    subscription = subscribe(organization, customer, product, token="pm_card_visa_chargeDeclinedLostCard")
    run_billing(RENEWAL)
    order = cycle_order(subscription)
    order.refresh_from_db()
    assert payments(order)[0].decline_reason == "lost_card"
    assert order.next_payment_attempt_at == DEADLINE

    for instant in SLOTS[:-1]:
        run_billing(instant)
    assert len(payments(order)) == 1
    run_billing(DEADLINE)

    subscription.refresh_from_db()
    assert len(payments(order)) == 2
    assert [a.slot for a in DunningAttempt.objects.filter(order=order)] == [None, 4]
    assert subscription.status == SubscriptionStatus.CANCELED
    assert len(mailoutbox) == 2
    assert "last time" in mailoutbox[0].body


def _snapshot(organization):
    from polar.webhooks.models import WebhookEvent

    return (
        list(Payment.objects.order_by("idempotency_key").values_list("idempotency_key", "status")),
        list(DunningAttempt.objects.order_by("created_at").values_list("attempt_number", "slot", "status")),
        list(DunningCase.objects.values_list("status", "next_slot", "next_attempt_at", "benefits_suspended_at")),
        WebhookEvent.objects.filter(organization=organization).count(),
    )


def test_running_the_sweep_twice_at_every_instant_changes_nothing(organization, subscription, mailoutbox):
    instants = [RENEWAL]
    for slot in SLOTS:
        instants += [slot - HOUR, slot, slot + HOUR]
    for instant in instants:
        run_billing(instant)
        before, mails = _snapshot(organization), len(mailoutbox)
        run_billing(instant)
        assert _snapshot(organization) == before, instant
        assert len(mailoutbox) == mails
    order = cycle_order(subscription)
    assert len(payments(order)) == 5
    assert len(mailoutbox) == 5
