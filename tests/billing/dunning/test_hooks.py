"""Where dunning plugs into renewals: a decline on the single cycle path opens the same case as the
batch (run_billing); an order paid outside dunning closes its case; a usage-only order leaves the
subscription alone and is voided after its retries."""

from decimal import Decimal

from billing.models import DunningAttempt, DunningCase, DunningCaseStatus, Order, OrderStatus, SubscriptionStatus
from billing.orders.services import order_charge
from billing.renewals.cycle import subscription_cycle
from polar import clock
from tests.billing.renewals.conftest import make_meter
from tests.factories.catalog import make_product
from tests.factories.payments import attach_card

from .conftest import DEADLINE, HOUR, RENEWAL, SLOTS, events, payments, run_billing, subscribe


def test_a_decline_on_the_single_cycle_path_opens_the_case(organization, subscription, mailoutbox):
    with clock.freeze(RENEWAL):
        order = subscription_cycle(subscription_id=subscription.id)

    subscription.refresh_from_db()
    order.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAST_DUE
    assert order.next_payment_attempt_at == SLOTS[0]
    case = DunningCase.objects.get(order=order)
    assert case.status == DunningCaseStatus.OPEN
    (attempt,) = DunningAttempt.objects.filter(case=case)
    assert (attempt.attempt_number, attempt.decline_code) == (1, "card_declined")
    assert events(organization, "subscription.past_due") == 1
    assert len(mailoutbox) == 1


def test_an_order_paid_outside_dunning_closes_its_case_and_the_subscription_recovers(organization, customer, subscription):
    run_billing(RENEWAL)
    order = Order.objects.get(subscription=subscription, status=OrderStatus.PENDING)
    with clock.freeze(SLOTS[0] - HOUR):
        card = attach_card(customer, "pm_card_visa")
        order_charge(order=order, payment_method=card)

    run_billing(SLOTS[0])

    case = DunningCase.objects.get(order=order)
    subscription.refresh_from_db()
    assert case.status == DunningCaseStatus.RECOVERED
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert len(payments(order)) == 2  # the renewal and the merchant's charge; no dunning retry


def test_a_usage_only_order_is_retried_then_voided_without_touching_the_subscription(organization, customer, mailoutbox):
    meter = make_meter(organization)
    product = make_product(
        organization=organization,
        name="Metered",
        recurring_interval="month",
        prices=[{"amount_type": "metered_unit", "price_currency": "usd", "meter_id": str(meter.id), "unit_amount": "50"}],
    )
    subscription = subscribe(organization, customer, product)
    from tests.billing.renewals.conftest import ingest

    ingest(organization, customer, RENEWAL.replace(day=20), 10)
    run_billing(RENEWAL)

    order = Order.objects.get(subscription=subscription, period_start=RENEWAL)
    assert order.due_amount == int(Decimal("50") * 10)
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert DunningCase.objects.get(order=order).usage_only
    for instant in SLOTS:
        run_billing(instant)

    order.refresh_from_db()
    subscription.refresh_from_db()
    assert len(payments(order)) == 5
    assert order.status == OrderStatus.VOID
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert events(organization, "subscription.past_due") == 0
    assert DunningCase.objects.get(order=order).ended_at == DEADLINE
