"""Every subscription transition, legal and illegal, through the services."""

import datetime as dt

import pytest

from billing.models import BenefitGrant, Order, Payment, Subscription, SubscriptionStatus
from billing.payments.services import PaymentFailed
from billing.subscriptions import changes, lifecycle, services
from polar import clock
from polar.errors import PolarRequestValidationError
from polar.webhooks.models import WebhookEvent
from tests.billing.subscription_fixtures import T0

pytestmark = pytest.mark.django_db


def create(organization, customer, product, **kwargs):
    return lifecycle.subscription_create(organization=organization, customer=customer, product=product, **kwargs)


def events(type_):
    return WebhookEvent.objects.filter(type=type_).count()


def test_create_charges_first_period_and_activates(organization, customer, product, card, frozen):
    subscription = create(organization, customer, product)

    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.started_at == T0
    assert (subscription.current_period_start, subscription.current_period_end) == (
        T0,
        dt.datetime(2026, 2, 28, 12, 0, tzinfo=dt.UTC),
    )
    assert subscription.billing_anchor_day == 31
    assert subscription.amount == 1000
    order = Order.objects.get(subscription=subscription)
    assert (order.billing_reason, order.status, order.total_amount, order.due_amount) == (
        "subscription_create",
        "paid",
        1000,
        1000,
    )
    assert Payment.objects.get(order_id=order.id).status == "succeeded"
    assert BenefitGrant.objects.filter(subscription_id=subscription.id, revoked_at__isnull=True).count() == 1
    assert events("subscription.created") == 1 and events("subscription.active") == 1 and events("order.paid") == 1


def test_create_pins_price_versions_not_the_products_current_prices(organization, customer, product, card):
    from billing.catalog.services import product_update

    subscription = create(organization, customer, product)
    original = list(subscription.prices.values_list("id", flat=True))
    product_update(product=product, prices=[{"amount_type": "fixed", "price_amount": 5000, "price_currency": "usd"}])

    assert list(Subscription.objects.get(pk=subscription.pk).prices.values_list("id", flat=True)) == original


def test_declined_first_charge_leaves_subscription_incomplete_and_order_unpaid(organization, customer, product, declining_card):
    with pytest.raises(PaymentFailed) as excinfo:
        create(organization, customer, product, payment_method=declining_card)

    assert excinfo.value.as_payload()["decline_code"] == "card_declined"
    subscription = Subscription.objects.get(customer=customer)
    assert subscription.status == SubscriptionStatus.INCOMPLETE
    assert Order.objects.get(subscription=subscription).status == "pending"
    assert not Order.objects.filter(status="paid").exists()
    assert not BenefitGrant.objects.filter(subscription_id=subscription.id).exists()
    assert events("subscription.active") == 0


def test_trial_starts_trialing_without_charge_and_grants(organization, customer, product, card, frozen):
    subscription = create(organization, customer, product, trial_end=T0 + dt.timedelta(days=14))

    assert subscription.status == SubscriptionStatus.TRIALING
    assert subscription.current_period_end == T0 + dt.timedelta(days=14)
    assert not Order.objects.filter(subscription=subscription).exists()
    assert BenefitGrant.objects.filter(subscription_id=subscription.id, revoked_at__isnull=True).count() == 1


def test_free_product_needs_no_card_and_is_paid_at_once(organization, customer):
    from tests.factories.subscriptions import monthly_product

    free = monthly_product(organization, name="Free", amount=0)
    subscription = create(organization, customer, free)

    assert subscription.status == SubscriptionStatus.ACTIVE
    assert Order.objects.get(subscription=subscription).status == "paid"
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    "kwargs_factory, field",
    [
        (lambda ctx: {"product": ctx["archived"]}, "product_id"),
        (lambda ctx: {"product": ctx["one_time"]}, "product_id"),
        (lambda ctx: {"payment_method": ctx["foreign_card"]}, "payment_method_id"),
        (lambda ctx: {"discount": ctx["restricted_discount"]}, "discount_id"),
        (lambda ctx: {"seats": 3}, "seats"),
        (lambda ctx: {"trial_end": T0 - dt.timedelta(days=1)}, "trial_end"),
    ],
    ids=["archived", "one_time", "foreign_card", "discount_not_applicable", "seats_on_non_seat", "trial_in_past"],
)
def test_create_rejects_bad_input_and_writes_nothing(
    organization, other_organization, customer, product, card, frozen, kwargs_factory, field
):
    from billing.catalog.services import product_update
    from tests.factories import CustomerFactory
    from tests.factories.payments import attach_card
    from tests.factories.subscriptions import monthly_product, one_time_product, percentage_discount

    other = monthly_product(organization, name="Other")
    archived = monthly_product(organization, name="Old")
    archived = product_update(product=archived, is_archived=True)
    ctx = {
        "archived": archived,
        "one_time": one_time_product(organization),
        "foreign_card": attach_card(CustomerFactory(organization=organization)),
        "restricted_discount": percentage_discount(organization, products=[other.id]),
    }
    kwargs = {"product": product, **kwargs_factory(ctx)}
    before = WebhookEvent.objects.count()
    with pytest.raises(PolarRequestValidationError) as excinfo:
        create(organization, customer, **kwargs)

    assert excinfo.value.errors[0]["loc"] == ["body", field]
    assert not Subscription.objects.exists() and not Order.objects.exists()
    assert WebhookEvent.objects.count() == before


def test_seats_outside_tiers_are_refused(organization, customer, card):
    from tests.factories.subscriptions import seat_product

    team = seat_product(organization, min_seats=2, max_seats=5)
    with pytest.raises(PolarRequestValidationError) as excinfo:
        create(organization, customer, team, seats=6)
    assert excinfo.value.errors[0]["loc"] == ["body", "seats"]
    assert not Subscription.objects.exists()


def test_cancel_sets_cancel_at_period_end_keeps_benefits(organization, customer, product, card):
    subscription = create(organization, customer, product)
    canceled = lifecycle.subscription_cancel(
        subscription=subscription, customer_cancellation_reason="too_expensive", customer_cancellation_comment="pricey"
    )

    assert canceled.status == SubscriptionStatus.ACTIVE and canceled.cancel_at_period_end
    assert canceled.ends_at == canceled.current_period_end
    assert canceled.customer_cancellation_reason == "too_expensive"
    assert BenefitGrant.objects.filter(subscription_id=subscription.id, revoked_at__isnull=True).count() == 1
    assert events("subscription.canceled") == 1


def test_cancel_twice_is_already_canceled(organization, customer, product, card):
    subscription = create(organization, customer, product)
    lifecycle.subscription_cancel(subscription=subscription)
    with pytest.raises(services.AlreadyCanceledSubscription):
        lifecycle.subscription_cancel(subscription=subscription)


def test_uncancel_clears_the_scheduled_end(organization, customer, product, card):
    subscription = create(organization, customer, product)
    lifecycle.subscription_cancel(subscription=subscription, customer_cancellation_reason="unused")
    uncanceled = lifecycle.subscription_uncancel(subscription=subscription)

    assert not uncanceled.cancel_at_period_end
    assert (uncanceled.canceled_at, uncanceled.ends_at, uncanceled.customer_cancellation_reason) == (None, None, None)
    assert events("subscription.uncanceled") == 1


def test_uncancel_of_a_revoked_subscription_is_refused(organization, customer, product, card):
    subscription = create(organization, customer, product)
    lifecycle.subscription_revoke(subscription=subscription)
    with pytest.raises(services.AlreadyCanceledSubscription):
        lifecycle.subscription_uncancel(subscription=subscription)


def test_revoke_ends_now_and_revokes_benefits(organization, customer, product, card):
    with clock.freeze(T0):
        subscription = create(organization, customer, product)
    later = T0 + dt.timedelta(days=3)
    with clock.freeze(later):
        revoked = lifecycle.subscription_revoke(subscription=subscription)

    assert revoked.status == SubscriptionStatus.CANCELED
    assert revoked.ended_at == later and revoked.ends_at == later
    assert not BenefitGrant.objects.filter(subscription_id=subscription.id, revoked_at__isnull=True).exists()
    assert events("subscription.revoked") == 1 and events("subscription.canceled") == 1


def test_revoke_twice_is_already_canceled(organization, customer, product, card):
    subscription = create(organization, customer, product)
    lifecycle.subscription_revoke(subscription=subscription)
    with pytest.raises(services.AlreadyCanceledSubscription):
        lifecycle.subscription_revoke(subscription=subscription)


def test_revoke_while_a_charge_is_pending_is_locked(organization, customer, product, card):
    subscription = create(organization, customer, product)
    order = Order.objects.get(subscription=subscription)
    Payment.objects.create(
        organization=organization,
        customer=customer,
        payment_method=card,
        amount=1,
        currency="usd",
        processor="sandbox",
        idempotency_key="test-pending",
        order=order,
    )
    with pytest.raises(services.SubscriptionLocked):
        lifecycle.subscription_revoke(subscription=subscription)
    assert Subscription.objects.get(pk=subscription.pk).status == SubscriptionStatus.ACTIVE


def test_cancel_incomplete_subscription_ends_it_at_once(organization, customer, product, declining_card):
    with pytest.raises(PaymentFailed):
        create(organization, customer, product, payment_method=declining_card)
    subscription = Subscription.objects.get()
    ended = lifecycle.subscription_cancel(subscription=subscription)
    assert ended.status == SubscriptionStatus.CANCELED


def test_subscription_end_at_period_end_revokes(organization, customer, product, card):
    subscription = create(organization, customer, product)
    lifecycle.subscription_cancel(subscription=subscription)
    subscription.refresh_from_db()
    ended = services.subscription_end(subscription=subscription)
    assert ended.status == SubscriptionStatus.CANCELED and ended.ended_at == ended.current_period_end
    assert not BenefitGrant.objects.filter(subscription_id=subscription.id, revoked_at__isnull=True).exists()


def test_discount_change_redeems_and_resets_cycles(organization, customer, product, card):
    from tests.factories.subscriptions import percentage_discount

    subscription = create(organization, customer, product)
    discount = percentage_discount(organization, basis_points=2500)
    changed = changes.subscription_change_discount(subscription=subscription, discount=discount)

    assert changed.discount_id == discount.id and changed.discount_applied_cycles == 0
    discount.refresh_from_db()
    assert discount.redemptions_count == 1


def test_change_on_canceled_subscription_is_already_canceled(organization, customer, product, premium, card):
    subscription = create(organization, customer, product)
    lifecycle.subscription_cancel(subscription=subscription)
    with pytest.raises(services.AlreadyCanceledSubscription):
        changes.subscription_change_product(subscription=subscription, product=premium, proration_behavior="prorate")
