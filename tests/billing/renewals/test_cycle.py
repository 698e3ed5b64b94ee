"""The renewal cycle through run_billing: orders matching hand computations, month after month."""

import datetime as dt

import pytest
from django.core.management import call_command

from billing.models import Order, OrderStatus, Payment, SubscriptionStatus

from .conftest import T0, ingest


def at(month, day, hour=12):
    return dt.datetime(2026, month, day, hour, 0, tzinfo=dt.UTC)


def run_billing(now: dt.datetime):
    call_command("run_billing", now=now.isoformat())


def cycle_orders(subscription):
    return list(Order.objects.filter(subscription=subscription, billing_reason="subscription_cycle").order_by("period_start"))


def test_fixed_and_metered_subscription_renews_month_after_month_matching_hand_computation(organization, customer, subscription):
    # Month 1 [Jan 31, Feb 28): 30 calls at 0.5¢ = 15¢. Month 2 [Feb 28, Mar 31): 7 calls = 3.5¢ → 4¢
    # (half away from zero). Month 3 [Mar 31, Apr 30): none.
    ingest(organization, customer, at(2, 10), 30)
    ingest(organization, customer, at(3, 15), 7)
    ingest(organization, customer, at(2, 28, 11), 1)  # one more in month 1, just before the cutoff
    ingest(organization, customer, at(4, 30, 12), 5)  # exactly at the cutoff: belongs to month 4

    for now in (at(2, 28), at(3, 31), at(4, 30)):
        run_billing(now)

    orders = cycle_orders(subscription)
    assert [(o.period_start, o.period_end) for o in orders] == [
        (at(2, 28), at(3, 31)),
        (at(3, 31), at(4, 30)),
        (at(4, 30), at(5, 31)),
    ]
    rows = [[(i.label, i.amount, i.period_start, i.period_end) for i in o.items.all()] for o in orders]
    assert rows[0] == [
        ("API plan", 1000, at(2, 28), at(3, 31)),
        ("API plan – API calls usage (2026-01-31 – 2026-02-28)", 16, T0, at(2, 28)),  # 31 × 0.5 = 15.5 → 16
    ]
    assert rows[1] == [
        ("API plan", 1000, at(3, 31), at(4, 30)),
        ("API plan – API calls usage (2026-02-28 – 2026-03-31)", 4, at(2, 28), at(3, 31)),
    ]
    assert rows[2] == [
        ("API plan", 1000, at(4, 30), at(5, 31)),
        ("API plan – API calls usage (2026-03-31 – 2026-04-30)", 0, at(3, 31), at(4, 30)),
    ]
    assert [(o.total_amount, o.due_amount, o.status) for o in orders] == [
        (1016, 1016, OrderStatus.PAID),
        (1004, 1004, OrderStatus.PAID),
        (1000, 1000, OrderStatus.PAID),
    ]
    assert [o.pricing_inputs["lines"][1]["units"] for o in orders] == ["31", "7", "0"]
    payments = Payment.objects.filter(order__in=orders, status=Payment.Status.SUCCEEDED)
    assert sorted(p.amount for p in payments) == [1000, 1004, 1016]
    subscription.refresh_from_db()
    assert (subscription.status, subscription.current_period_start, subscription.current_period_end) == (
        SubscriptionStatus.ACTIVE,
        at(4, 30),
        at(5, 31),
    )


def test_subscription_three_periods_behind_gets_three_cycles_in_one_run(organization, customer, subscription):
    ingest(organization, customer, at(3, 1), 10)
    run_billing(at(4, 30, 13))
    orders = cycle_orders(subscription)
    assert [o.period_start for o in orders] == [at(2, 28), at(3, 31), at(4, 30)]
    assert [o.total_amount for o in orders] == [1000, 1005, 1000]


def test_run_billing_twice_with_the_same_now_changes_nothing(organization, customer, subscription):
    from django.apps import apps

    ingest(organization, customer, at(2, 10), 3)
    run_billing(at(3, 31))

    def snapshot():
        counts = {m._meta.label: m.objects.count() for m in apps.get_app_config("billing").get_models()}
        subscription.refresh_from_db()
        states = sorted(Order.objects.values_list("id", "status", "total_amount", "payment_attempts"))
        return counts, states, subscription.current_period_end, subscription.status, subscription.modified_at

    before = snapshot()
    run_billing(at(3, 31))
    assert snapshot() == before


def test_subscription_not_due_is_left_alone(subscription):
    run_billing(at(2, 28, 11))
    assert cycle_orders(subscription) == []


def test_failed_renewal_charge_moves_subscription_to_past_due(organization, customer, product):
    from tests.factories.payments import attach_card

    from .conftest import subscribe

    card = attach_card(customer, "pm_card_visa")
    subscription = subscribe(organization, customer, product, payment_method=card)
    declining = attach_card(customer, "pm_card_chargeCustomerFail", set_default=False)
    subscription.payment_method = declining
    subscription.save(update_fields=["payment_method"])

    run_billing(at(2, 28))

    (order,) = cycle_orders(subscription)
    subscription.refresh_from_db()
    assert (order.status, order.payment_attempts) == (OrderStatus.PENDING, 1)
    assert subscription.status == SubscriptionStatus.PAST_DUE
    assert Payment.objects.get(order=order).decline_reason == "card_declined"
    # A second run does not retry (that is dunning's job): still one attempt.
    run_billing(at(2, 28))
    assert Payment.objects.filter(order=order).count() == 1


def test_zero_amount_cycle_order_is_paid_at_once_without_a_charge(organization, customer, card, meter):
    from .conftest import metered_product, subscribe

    product = metered_product(organization, meter, name="Free plan", amount=0)
    subscription = subscribe(organization, customer, product)
    run_billing(at(2, 28))
    (order,) = cycle_orders(subscription)
    assert (order.total_amount, order.status) == (0, OrderStatus.PAID)
    assert not Payment.objects.filter(order=order).exists()


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01"])
def test_run_billing_rejects_a_bad_now(bad):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("run_billing", now=bad)


def test_beat_runs_the_renewal_sweep_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["renewals-sweep"]
    assert entry["task"] == "billing.tasks.renewals_sweep"
    assert entry["schedule"] == dt.timedelta(minutes=1)


def test_the_sweep_task_renews_what_is_due(organization, customer, subscription, django_capture_on_commit_callbacks):
    from billing.tasks import renewals_sweep
    from polar import clock

    with clock.freeze(at(2, 28)), django_capture_on_commit_callbacks(execute=True):
        assert renewals_sweep.apply().get() == 1  # the cycle task is sent on commit and runs eagerly in tests
    (order,) = cycle_orders(subscription)
    assert order.status == OrderStatus.PAID


def test_a_second_sweep_does_not_enqueue_a_subscription_already_queued(subscription, django_capture_on_commit_callbacks):
    from billing.renewals.sweep import renewals_sweep
    from polar import clock

    with clock.freeze(at(2, 28)), django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert renewals_sweep() == 1
        assert renewals_sweep() == 0  # the first task has not run yet: not sent twice
    assert len(callbacks) == 1


def test_renewal_writes_are_audited_as_the_system_command(subscription):
    from auditlog.models import LogEntry

    run_billing(at(2, 28))
    (order,) = cycle_orders(subscription)
    entry = LogEntry.objects.get_for_object(order).order_by("timestamp").first()
    assert entry.actor_email == "system:run_billing"
