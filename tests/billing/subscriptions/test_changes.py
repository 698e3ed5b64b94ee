"""Plan and seat changes with each proration behaviour, with exact amounts.

The period is 2026-01-31 12:00 → 2026-02-28 12:00 UTC (28 days); every change happens 7 days in, so
the remaining fraction is exactly 21/28 = 0.75 of the period.
"""

import datetime as dt

import pytest

from billing.models import Order, PendingSubscriptionUpdate, Subscription, SubscriptionProration, TaxRate
from billing.payments.services import PaymentFailed
from billing.pricing import LineInput, Period, PricingInput, price
from billing.subscriptions import changes, lifecycle, services
from polar import clock
from tests.billing.subscription_fixtures import T0
from tests.factories.payments import attach_card

pytestmark = pytest.mark.django_db

CHANGE_AT = T0 + dt.timedelta(days=7)


@pytest.fixture
def subscription(organization, customer, product, card):
    with clock.freeze(T0):
        return lifecycle.subscription_create(organization=organization, customer=customer, product=product)


def change(subscription, product, behavior):
    with clock.freeze(CHANGE_AT):
        return changes.subscription_change_product(subscription=subscription, product=product, proration_behavior=behavior)


def test_invoice_upgrade_charges_prorated_difference_now(subscription, premium):
    changed = change(subscription, premium, "invoice")

    order = Order.objects.get(subscription=subscription, billing_reason="subscription_update")
    assert [(i.label, i.amount, i.proration) for i in order.items.all()] == [
        ("Unused time on Pro", -750, True),
        ("Remaining time on Premium", 2250, True),
    ]
    assert (order.subtotal_amount, order.total_amount, order.due_amount, order.status) == (1500, 1500, 1500, "paid")
    assert order.period_start == CHANGE_AT
    assert changed.product_id == premium.id and changed.amount == 3000
    assert [p.product_id for p in Subscription.objects.get(pk=subscription.pk).prices.all()] == [premium.id]


def test_invoice_downgrade_keeps_the_credit_for_later_orders(organization, customer, premium, product, card):
    with clock.freeze(T0):
        subscription = lifecycle.subscription_create(organization=organization, customer=customer, product=premium)
    changed = change(subscription, product, "invoice")

    order = Order.objects.get(subscription=subscription, billing_reason="subscription_update")
    assert (order.total_amount, order.due_amount, order.status) == (-1500, 0, "paid")
    assert changed.credit_balance == 1500 and changed.product_id == product.id


def test_invoice_credit_is_applied_to_the_next_change(organization, customer, premium, product, card):
    with clock.freeze(T0):
        subscription = lifecycle.subscription_create(organization=organization, customer=customer, product=premium)
    change(subscription, product, "invoice")  # credit 1500
    with clock.freeze(T0 + dt.timedelta(days=14)):  # half the period left
        changed = changes.subscription_change_product(subscription=subscription, product=premium, proration_behavior="invoice")

    order = Order.objects.filter(subscription=subscription, billing_reason="subscription_update").order_by("created_at").last()
    assert order.total_amount == 1000  # -500 + 1500
    assert (order.applied_balance_amount, order.due_amount, order.status) == (1000, 0, "paid")
    assert changed.credit_balance == 500


def test_invoice_decline_keeps_the_old_plan_and_voids_the_order(organization, customer, subscription, premium):
    attach_card(customer, "pm_card_chargeCustomerFail", set_default=True)
    subscription.payment_method = None
    subscription.save(update_fields=["payment_method"])
    with pytest.raises(PaymentFailed):
        change(subscription, premium, "invoice")

    subscription.refresh_from_db()
    assert subscription.product_id != premium.id and subscription.amount == 1000
    assert Order.objects.get(billing_reason="subscription_update").status == "void"
    assert not PendingSubscriptionUpdate.objects.filter(applied_at__isnull=True, canceled_at__isnull=True).exists()


def test_prorate_carries_lines_to_the_next_renewal(subscription, premium):
    changed = change(subscription, premium, "prorate")

    assert changed.product_id == premium.id
    assert not Order.objects.filter(billing_reason="subscription_update").exists()
    lines = [LineInput.from_dict(row.line_input) for row in SubscriptionProration.objects.filter(subscription=subscription)]
    result = price(PricingInput(period=Period(T0, T0 + dt.timedelta(days=28)), currency="usd", lines=lines))
    assert [line.amount for line in result.lines] == [-750, 2250]


def test_next_period_schedules_the_change_without_charging(subscription, premium):
    changed = change(subscription, premium, "next_period")

    pending = PendingSubscriptionUpdate.objects.get(subscription=subscription)
    assert pending.applies_at == subscription.current_period_end and pending.product_id == premium.id
    assert list(pending.prices.values_list("product_id", flat=True)) == [premium.id]
    assert changed.product_id == subscription.product_id
    assert Order.objects.filter(subscription=subscription).count() == 1


def test_a_second_change_while_one_is_scheduled_is_locked(subscription, premium):
    change(subscription, premium, "next_period")
    with pytest.raises(services.SubscriptionLocked):
        change(subscription, premium, "invoice")


def test_clearing_the_scheduled_change_unlocks(subscription, premium):
    change(subscription, premium, "next_period")
    with clock.freeze(CHANGE_AT):
        changes.subscription_clear_pending_update(subscription=subscription)
    changed = change(subscription, premium, "prorate")
    assert changed.product_id == premium.id


def test_seat_change_invoices_the_extra_seats(organization, customer, card):
    from tests.factories.subscriptions import seat_product

    team = seat_product(organization, price_per_seat=500, min_seats=1, max_seats=10)
    with clock.freeze(T0):
        subscription = lifecycle.subscription_create(organization=organization, customer=customer, product=team, seats=2)
    assert subscription.amount == 1000
    with clock.freeze(CHANGE_AT):
        changed = changes.subscription_change_seats(subscription=subscription, seats=4, proration_behavior="invoice")

    order = Order.objects.get(billing_reason="subscription_update")
    assert [i.amount for i in order.items.all()] == [-750, 1500]
    assert order.total_amount == 750 and changed.seats == 4 and changed.amount == 2000


def test_seat_change_outside_tiers_is_refused(organization, customer, card):
    from polar.errors import PolarRequestValidationError
    from tests.factories.subscriptions import seat_product

    team = seat_product(organization, min_seats=1, max_seats=5)
    subscription = lifecycle.subscription_create(organization=organization, customer=customer, product=team, seats=2)
    with pytest.raises(PolarRequestValidationError) as excinfo:
        changes.subscription_change_seats(subscription=subscription, seats=6, proration_behavior="invoice")
    assert excinfo.value.errors[0]["loc"] == ["body", "seats"]
    assert Subscription.objects.get(pk=subscription.pk).seats == 2


def test_change_to_a_product_without_the_currency_is_refused(subscription, organization):
    from polar.errors import PolarRequestValidationError
    from tests.factories.subscriptions import monthly_product

    euro = monthly_product(organization, name="Euro", currency="eur")
    with pytest.raises(PolarRequestValidationError) as excinfo:
        change(subscription, euro, "invoice")
    assert excinfo.value.errors[0]["loc"] == ["body", "product_id"]
    assert not Order.objects.filter(billing_reason="subscription_update").exists()


def test_tax_is_stated_per_line_from_the_customers_country(organization, customer, product, card):
    TaxRate.objects.create(organization=organization, country="FR", basis_points=2000)
    customer.billing_address = {"country": "FR"}
    customer.save()
    subscription = lifecycle.subscription_create(organization=organization, customer=customer, product=product)

    order = Order.objects.get(subscription=subscription)
    item = order.items.get()
    assert (item.tax_rate_bps, item.tax_amount) == (2000, 200)
    assert (order.subtotal_amount, order.tax_amount, order.total_amount) == (1000, 200, 1200)


def test_no_tax_where_no_rate_applies(organization, customer, product, card):
    TaxRate.objects.create(organization=organization, country="FR", basis_points=2000)
    customer.billing_address = {"country": "US"}
    customer.save()
    subscription = lifecycle.subscription_create(organization=organization, customer=customer, product=product)
    assert Order.objects.get(subscription=subscription).tax_amount == 0


def test_invoice_change_applies_a_forever_discount_to_proration_lines(organization, customer, product, premium, card):
    from tests.factories.subscriptions import percentage_discount

    discount = percentage_discount(organization, basis_points=1000, duration="forever")
    with clock.freeze(T0):
        subscription = lifecycle.subscription_create(
            organization=organization, customer=customer, product=product, discount=discount
        )
    first = Order.objects.get(billing_reason="subscription_create")
    assert (first.discount_amount, first.total_amount) == (100, 900)
    change(subscription, premium, "invoice")
    order = Order.objects.get(billing_reason="subscription_update")
    assert [(i.amount, i.discount_amount) for i in order.items.all()] == [(-750, -75), (2250, 225)]
    assert order.total_amount == 1350


def test_invoice_change_interrupted_by_a_processor_timeout_settles_after_reconcile(subscription, premium):
    from billing.models import Payment, SandboxSettings
    from billing.payments.services import PaymentProcessorTimeout, payment_reconcile

    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "timeout_after_charge"})
    with pytest.raises(PaymentProcessorTimeout):
        change(subscription, premium, "invoice")
    pending = PendingSubscriptionUpdate.objects.get(subscription=subscription)
    assert pending.order is not None and pending.applied_at is None
    assert Subscription.objects.get(pk=subscription.pk).product_id != premium.id
    with pytest.raises(services.SubscriptionLocked):
        change(subscription, premium, "prorate")
    assert services.subscription_change_settle(pending_update=pending) is False  # the charge is still unknown

    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})
    payment = payment_reconcile(payment=Payment.objects.get(order_id=pending.order_id))
    assert payment.status == "succeeded"
    assert services.subscription_change_settle(pending_update=pending) is True
    assert Subscription.objects.get(pk=subscription.pk).product_id == premium.id
    assert Payment.objects.filter(order_id=pending.order_id, status="succeeded").count() == 1


def test_renewal_helpers_apply_the_scheduled_change_and_price_the_new_plan(subscription, premium):
    from django.db import transaction

    change(subscription, premium, "next_period")
    end = subscription.current_period_end
    with clock.freeze(end), transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        assert services.subscription_apply_pending_update(subscription=locked, at=end - dt.timedelta(seconds=1)) is None
        applied = services.subscription_apply_pending_update(subscription=locked, at=end)
    assert applied is not None and applied.applied_at == end
    subscription.refresh_from_db()
    assert subscription.product_id == premium.id and subscription.amount == 3000
    lines = services.subscription_static_lines(subscription=subscription, tax_rate_bps=0)
    result = price(PricingInput(period=Period(end, end + dt.timedelta(days=31)), currency="usd", lines=lines))
    assert [(line.label, line.amount) for line in result.lines] == [("Premium", 3000)]
