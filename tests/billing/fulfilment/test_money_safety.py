"""After a charge, nothing fails (issue 11, findings 1, 2, 7, 12, 13; docs/fulfilment.md).

Each test drives the public API as a merchant or a buyer would. Failures after the charge are injected
by replacing one of our own functions with a ``Breaker`` while the request runs (a test seam, no hook in
production code); the breaker is then disarmed and the ``fulfilment_sweep`` beat step run, after which
the state must be consistent: one succeeded charge, the order paid, the subscription active, the
benefits granted and the checkout succeeded.
"""

import datetime as dt

import pytest

from billing.benefits.services import benefit_create
from billing.fulfilment.services import fulfilment_sweep
from billing.models import BenefitGrant, Checkout, Order, Payment, Subscription
from polar import clock
from polar.api.models import IdempotencyKey
from polar.webhooks.events import WebhookEventType
from tests.billing.subscription_fixtures import *  # noqa: F401,F403
from tests.factories.subscriptions import custom_benefit, monthly_product, one_time_product

pytestmark = pytest.mark.django_db


class Breaker:
    """Stands in for ``module.name``: raises while armed (only for calls ``when`` accepts), else delegates."""

    def __init__(self, monkeypatch, module, name, when=None):
        self.original = getattr(module, name)
        self.armed = True
        self.calls = 0
        self.when = when
        monkeypatch.setattr(module, name, self)

    def __call__(self, *args, **kwargs):
        if self.armed and (self.when is None or self.when(*args, **kwargs)):
            self.calls += 1
            raise RuntimeError("injected failure after the charge")
        return self.original(*args, **kwargs)


def _disarm_after_injection(breakers):
    """The armed failure really happened during the request; from now on the step works again."""
    assert any(breaker.calls for breaker in breakers), "the failure was not injected"
    for breaker in breakers:
        breaker.armed = False


def _sweep_later():
    return fulfilment_sweep(now=clock.now() + dt.timedelta(minutes=10))


def _checkout(api_client, product):
    response = api_client.post("/v1/checkouts/", {"products": [str(product.id)]}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _confirm(anonymous_client, checkout, email="buyer@example.com", **headers):
    return anonymous_client.post(
        f"/v1/checkouts/client/{checkout['client_secret']}/confirm",
        {"customer_email": email, "confirmation_token_id": "pm_card_visa"},
        format="json",
        **headers,
    )


def _succeeded_charges():
    return Payment.objects.filter(status=Payment.Status.SUCCEEDED).count()


def _active_grants(**scope):
    return BenefitGrant.objects.filter(granted_at__isnull=False, revoked_at__isnull=True, **scope).count()


# --- the injection points -------------------------------------------------------------------------------

_WATCHED_EVENTS = {
    WebhookEventType.ORDER_PAID,
    WebhookEventType.SUBSCRIPTION_ACTIVE,
    WebhookEventType.CHECKOUT_UPDATED,
    WebhookEventType.BENEFIT_GRANT_CREATED,
}


def _arm(step, monkeypatch):
    """Arm the failure of ``step``; returns the breakers to disarm."""
    from billing.benefits import services as benefits
    from billing.checkouts import services as checkouts
    from billing.fulfilment import services as fulfilment
    from billing.orders import services as orders
    from billing.subscriptions import services as subscriptions

    if step == "payment_recorded":  # the charge succeeded; recording the order paid fails
        return [Breaker(monkeypatch, orders, "order_mark_paid")]
    if step == "benefit_grant":
        return [
            Breaker(monkeypatch, benefits, "benefit_grants_create_for"),
            Breaker(monkeypatch, benefits, "benefit_grants_sync_for"),
        ]
    if step == "subscription_activation":
        return [
            Breaker(monkeypatch, subscriptions, "subscription_activate_locked"),
            Breaker(monkeypatch, subscriptions, "subscription_switch_plan"),
        ]
    if step == "checkout_success":
        return [Breaker(monkeypatch, fulfilment, "checkout_succeed")]
    if step == "webhook_emit":

        def watched(*args, **kwargs):
            return kwargs.get("type") in _WATCHED_EVENTS

        return [
            Breaker(monkeypatch, module, "webhook_event_emit", when=watched)
            for module in (orders, subscriptions, checkouts, fulfilment, benefits)
        ]
    raise AssertionError(step)


STEPS = ["payment_recorded", "benefit_grant", "subscription_activation", "checkout_success", "webhook_emit"]


@pytest.mark.parametrize("step", STEPS)
def test_recurring_checkout_confirm_survives_a_failure_after_the_charge(
    step, monkeypatch, api_client, anonymous_client, organization
):
    product = monthly_product(organization, name="Pro", amount=1000, benefits=[custom_benefit(organization)])
    checkout = _checkout(api_client, product)
    breakers = _arm(step, monkeypatch)

    response = _confirm(anonymous_client, checkout)

    assert response.status_code == 200, response.content
    assert _succeeded_charges() == 1
    _disarm_after_injection(breakers)
    _sweep_later()
    subscription = Subscription.objects.get()
    order = Order.objects.get(subscription=subscription)
    assert (subscription.status, order.status, order.awaiting_fulfilment) == ("active", "paid", False)
    assert _active_grants(subscription_id=subscription.id) == 1
    assert Checkout.objects.get().status == "succeeded"
    # A buyer retrying the confirm is answered without a second charge.
    assert _confirm(anonymous_client, checkout).status_code == 200
    assert _succeeded_charges() == 1 and Subscription.objects.count() == 1


@pytest.mark.parametrize("step", [s for s in STEPS if s != "subscription_activation"])
def test_one_time_checkout_confirm_survives_a_failure_after_the_charge(
    step, monkeypatch, api_client, anonymous_client, organization
):
    ebook = one_time_product(organization, benefits=[custom_benefit(organization)])
    checkout = _checkout(api_client, ebook)
    breakers = _arm(step, monkeypatch)

    response = _confirm(anonymous_client, checkout)

    assert response.status_code == 200, response.content
    assert _succeeded_charges() == 1
    _disarm_after_injection(breakers)
    _sweep_later()
    order = Order.objects.get()
    assert (order.billing_reason, order.status, order.awaiting_fulfilment) == ("purchase", "paid", False)
    assert _active_grants(order_id=order.id) == 1
    assert Checkout.objects.get().status == "succeeded"
    assert _confirm(anonymous_client, checkout).status_code == 200
    assert _succeeded_charges() == 1 and Order.objects.count() == 1


@pytest.mark.parametrize("step", [s for s in STEPS if s != "checkout_success"])
def test_subscription_create_survives_a_failure_after_the_charge(step, monkeypatch, api_client, organization, customer, card):
    product = monthly_product(organization, name="Pro", amount=1000, benefits=[custom_benefit(organization)])
    breakers = _arm(step, monkeypatch)

    response = api_client.post(
        "/v1/subscriptions/",
        {"product_id": str(product.id), "customer_id": str(customer.id)},
        format="json",
        HTTP_IDEMPOTENCY_KEY="create-1",
    )

    assert response.status_code == 201, response.content
    assert _succeeded_charges() == 1
    _disarm_after_injection(breakers)
    _sweep_later()
    subscription = Subscription.objects.get()
    order = Order.objects.get(subscription=subscription)
    assert (subscription.status, order.status, order.awaiting_fulfilment) == ("active", "paid", False)
    assert _active_grants(subscription_id=subscription.id) == 1
    replay = api_client.post(
        "/v1/subscriptions/",
        {"product_id": str(product.id), "customer_id": str(customer.id)},
        format="json",
        HTTP_IDEMPOTENCY_KEY="create-1",
    )
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert _succeeded_charges() == 1 and Subscription.objects.count() == 1


@pytest.mark.parametrize("step", [s for s in STEPS if s != "checkout_success"])
def test_invoiced_plan_change_survives_a_failure_after_the_charge(step, monkeypatch, api_client, organization, customer, card):
    from billing.subscriptions.lifecycle import subscription_create

    basic = monthly_product(organization, name="Basic", amount=1000)
    premium = monthly_product(organization, name="Premium", amount=3000, benefits=[custom_benefit(organization)])
    subscription = subscription_create(organization=organization, customer=customer, product=basic)
    breakers = _arm(step, monkeypatch)

    response = api_client.patch(
        f"/v1/subscriptions/{subscription.id}", {"product_id": str(premium.id), "proration_behavior": "invoice"}, format="json"
    )

    assert response.status_code == 200, response.content
    update = Order.objects.get(billing_reason="subscription_update")
    assert Payment.objects.filter(order=update, status="succeeded").count() == 1
    _disarm_after_injection(breakers)
    _sweep_later()
    subscription.refresh_from_db()
    update.refresh_from_db()
    assert (subscription.product_id, update.status, update.awaiting_fulfilment) == (premium.id, "paid", False)
    assert _active_grants(subscription_id=subscription.id) == 1
    assert Payment.objects.filter(order=update, status="succeeded").count() == 1


@pytest.mark.parametrize("step", ["payment_recorded", "webhook_emit", "past_due_recovery"])
def test_renewal_survives_a_failure_after_the_charge(step, monkeypatch, organization, customer, card):
    from billing.renewals import cycle as renewals
    from billing.scheduler import billing_run
    from billing.subscriptions.lifecycle import subscription_create

    product = monthly_product(organization, name="Pro", amount=1000)
    subscription = subscription_create(organization=organization, customer=customer, product=product)
    due = subscription.current_period_end + dt.timedelta(minutes=1)
    if step == "past_due_recovery":  # the renewal charge succeeds late, for a past-due subscription
        Subscription.objects.filter(pk=subscription.pk).update(status="past_due", past_due_at=clock.now())
        breakers = [Breaker(monkeypatch, renewals, "subscription_recover_if_settled")]
    else:
        breakers = _arm(step, monkeypatch)

    with clock.freeze(due):
        renewals.subscription_cycle(subscription_id=subscription.id)  # raises nothing

    cycle = Order.objects.get(billing_reason="subscription_cycle")
    assert Payment.objects.filter(order=cycle, status="succeeded").count() == 1
    _disarm_after_injection(breakers)
    billing_run(now=due + dt.timedelta(minutes=10))
    cycle.refresh_from_db()
    subscription.refresh_from_db()
    assert (cycle.status, subscription.status) == ("paid", "active")
    assert Payment.objects.filter(order=cycle, status="succeeded").count() == 1


# --- finding 1: benefit settings that cannot be issued ----------------------------------------------------


def _unissuable_benefits(organization):
    return [
        benefit_create(
            organization=organization,
            type="license_keys",
            description="Forever key",
            properties={"expires": {"ttl": 10_000, "timeframe": "year"}},
        ),
        benefit_create(
            organization=organization, type="license_keys", description="Huge usage", properties={"limit_usage": 10**12}
        ),
        custom_benefit(organization),
    ]


def test_recurring_checkout_with_unissuable_license_keys_is_paid_active_and_succeeded(api_client, anonymous_client, organization):
    product = monthly_product(organization, name="Pro", amount=1000, benefits=_unissuable_benefits(organization))
    checkout = _checkout(api_client, product)

    response = _confirm(anonymous_client, checkout)

    assert response.status_code == 200, response.content
    subscription = Subscription.objects.get()
    assert (subscription.status, Order.objects.get().status, Checkout.objects.get().status) == ("active", "paid", "succeeded")
    assert _succeeded_charges() == 1
    # The custom benefit is granted; the two license keys are recorded with their error, not granted.
    grants = BenefitGrant.objects.filter(subscription_id=subscription.id)
    assert _active_grants(subscription_id=subscription.id) == 1
    assert sorted(g.benefit.description for g in grants if g.error) == ["Forever key", "Huge usage"]
    assert all(g.granted_at is None for g in grants if g.error)
    # A retry of the confirm does not charge again.
    assert _confirm(anonymous_client, checkout).status_code == 200
    assert _succeeded_charges() == 1


def test_one_time_checkout_with_unissuable_license_keys_is_paid_and_succeeded(api_client, anonymous_client, organization):
    ebook = one_time_product(organization, benefits=_unissuable_benefits(organization))
    checkout = _checkout(api_client, ebook)

    response = _confirm(anonymous_client, checkout)

    assert response.status_code == 200, response.content
    order = Order.objects.get()
    assert (order.status, Checkout.objects.get().status) == ("paid", "succeeded")
    assert _active_grants(order_id=order.id) == 1
    assert BenefitGrant.objects.filter(order_id=order.id, error__isnull=False).count() == 2


def test_subscription_create_with_unissuable_license_keys_answers_201_active(api_client, organization, customer, card):
    product = monthly_product(organization, name="Pro", amount=1000, benefits=_unissuable_benefits(organization))

    response = api_client.post(
        "/v1/subscriptions/", {"product_id": str(product.id), "customer_id": str(customer.id)}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "active"
    assert Order.objects.get().status == "paid" and _succeeded_charges() == 1


def test_a_failed_grant_is_granted_by_the_sweep_once_the_benefit_can_be_issued(api_client, organization, customer, card):
    forever, huge, _custom = _unissuable_benefits(organization)
    product = monthly_product(organization, name="Pro", amount=1000, benefits=[forever, huge])
    api_client.post("/v1/subscriptions/", {"product_id": str(product.id), "customer_id": str(customer.id)}, format="json")
    subscription = Subscription.objects.get()
    assert _active_grants(subscription_id=subscription.id) == 0
    # The merchant fixes the settings; the sweep grants (the grants keep the row they failed in).
    for benefit in (forever, huge):
        benefit.properties = {**benefit.properties, "expires": {"ttl": 1, "timeframe": "year"}, "limit_usage": 100}
        benefit.save(update_fields=["properties"])
    assert _sweep_later()["grants"] == 2
    assert _active_grants(subscription_id=subscription.id) == 2
    assert BenefitGrant.objects.filter(subscription_id=subscription.id).count() == 2


# --- finding 2: the Idempotency-Key of a request that charged is kept ---------------------------------------


def test_a_5xx_after_the_charge_keeps_the_key_and_the_retry_charges_nothing(
    monkeypatch, api_client, organization, customer, card
):
    from billing.subscriptions import api as subscriptions_api

    product = monthly_product(organization, name="Pro", amount=1000)
    # A failure the services cannot absorb: rendering the answer, after the charge.
    breaker = Breaker(monkeypatch, subscriptions_api.selectors, "subscription_get")
    body = {"product_id": str(product.id), "customer_id": str(customer.id)}

    first = api_client.post("/v1/subscriptions/", body, format="json", HTTP_IDEMPOTENCY_KEY="same")
    breaker.armed = False
    second = api_client.post("/v1/subscriptions/", body, format="json", HTTP_IDEMPOTENCY_KEY="same")

    assert first.status_code == 500
    assert second.status_code == 500 and second["Idempotent-Replayed"] == "true"
    assert Subscription.objects.count() == 1 and _succeeded_charges() == 1
    assert IdempotencyKey.objects.get(key="same").status == "completed"
    assert Subscription.objects.get().status == "active"


def test_a_5xx_without_a_charge_still_releases_the_key(monkeypatch, api_client, organization, customer):
    from billing.subscriptions import api as subscriptions_api

    product = monthly_product(organization, name="Free", amount=0)
    Breaker(monkeypatch, subscriptions_api.selectors, "subscription_get")
    response = api_client.post(
        "/v1/subscriptions/",
        {"product_id": str(product.id), "customer_id": str(customer.id)},
        format="json",
        HTTP_IDEMPOTENCY_KEY="free",
    )
    assert response.status_code == 500
    assert not IdempotencyKey.objects.filter(key="free").exists()


# --- finding 7: validate before writing ----------------------------------------------------------------


def test_subscription_over_the_amount_ceiling_is_422_and_writes_nothing(api_client, organization, customer, card):
    from tests.factories.subscriptions import seat_product

    team = seat_product(organization, price_per_seat=99_999_999, min_seats=1, max_seats=None)

    response = api_client.post(
        "/v1/subscriptions/", {"product_id": str(team.id), "customer_id": str(customer.id), "seats": 10_000}, format="json"
    )

    assert response.status_code == 422, response.content
    assert ["body", "seats"] in [error["loc"] for error in response.json()["detail"]]
    assert not Subscription.objects.exists() and not Order.objects.exists() and not Payment.objects.exists()


def test_checkout_over_the_amount_ceiling_is_422_and_writes_nothing(api_client, organization):
    from tests.factories.subscriptions import seat_product

    team = seat_product(organization, price_per_seat=99_999_999, min_seats=1, max_seats=None)
    response = api_client.post("/v1/checkouts/", {"products": [str(team.id)], "seats": 10_000}, format="json")
    assert response.status_code == 422, response.content
    assert not Checkout.objects.exists()


# --- finding 12: a buyer's keys live apart from the merchant's ------------------------------------------


def test_a_buyer_cannot_burn_the_merchants_idempotency_key(api_client, anonymous_client, organization):
    product = monthly_product(organization, name="Pro", amount=1000)
    checkout = _checkout(api_client, product)

    buyer = _confirm(anonymous_client, checkout, HTTP_IDEMPOTENCY_KEY="order-42")
    merchant = api_client.post(
        "/v1/customers/", {"email": "merchant-call@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="order-42"
    )

    assert buyer.status_code == 200, buyer.content
    assert merchant.status_code == 201, merchant.content
    assert "Idempotent-Replayed" not in merchant


def test_two_buyers_may_use_the_same_key_on_their_own_checkouts(api_client, anonymous_client, organization):
    product = monthly_product(organization, name="Pro", amount=1000)
    first, second = _checkout(api_client, product), _checkout(api_client, product)

    one = _confirm(anonymous_client, first, email="one@example.com", HTTP_IDEMPOTENCY_KEY="pay")
    two = _confirm(anonymous_client, second, email="two@example.com", HTTP_IDEMPOTENCY_KEY="pay")

    assert (one.status_code, two.status_code) == (200, 200)
    assert Checkout.objects.filter(status="succeeded").count() == 2 and _succeeded_charges() == 2


# --- finding 13: a denied organization takes no money --------------------------------------------------


def test_a_denied_organizations_open_checkout_is_refused_before_charging(api_client, anonymous_client, organization):
    product = monthly_product(organization, name="Pro", amount=1000)
    checkout = _checkout(api_client, product)
    organization.status = "denied"
    organization.save(update_fields=["status"])

    response = _confirm(anonymous_client, checkout)

    assert response.status_code == 403, response.content
    assert response.json()["error"] == "NotOpenCheckout"
    assert not Payment.objects.exists() and not Subscription.objects.exists() and not Order.objects.exists()


def test_a_denied_organization_starts_no_subscription(organization, customer, card):
    from billing.subscriptions.lifecycle import subscription_create
    from billing.subscriptions.services import OrganizationNotAcceptingPayments

    organization.status = "denied"
    organization.save(update_fields=["status"])
    with pytest.raises(OrganizationNotAcceptingPayments):
        subscription_create(organization=organization, customer=customer, product=monthly_product(organization, amount=1000))
    assert not Payment.objects.exists() and not Subscription.objects.exists()
