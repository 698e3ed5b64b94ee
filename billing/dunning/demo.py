"""The demo's dunning path (``make demo`` through ``billing.demo.seed_billing``): customers whose card
fails (``pm_card_chargeCustomerFail``) at a renewal, moved through time with ``billing_run``.

- ``dunning-recovered@demo.example``: past due, two scheduled retries declined (the e-mails go to the
  console backend, i.e. the log), then the customer adds ``pm_card_visa`` (what the portal does: the card
  becomes the default and ``dunning_retry_for_customer`` runs) → paid, active again, benefits back.
- ``dunning-past-due@demo.example``: past due with two retries declined and the next one scheduled: open
  the customer portal for it (``POST /v1/customer-sessions/``) and add a card to watch it recover.

Idempotent: customers are found by e-mail, a subscription is created once, ``billing_run`` at an
instant already run changes nothing, and the recovery only runs while the order is still pending.
"""

from __future__ import annotations

import datetime as dt

from billing.models import DunningCase, Order, OrderStatus, Product, Subscription
from polar import clock

PRODUCT_NAME = "Demo Team plan"
RECOVERED_EMAIL = "dunning-recovered@demo.example"
PAST_DUE_EMAIL = "dunning-past-due@demo.example"


def _product(organization) -> Product:
    from billing.benefits.services import benefit_create
    from billing.catalog.services import product_benefits_set, product_create

    product = Product.objects.filter(organization=organization, name=PRODUCT_NAME).first()
    if product is not None:
        return product
    product = product_create(
        organization=organization,
        name=PRODUCT_NAME,
        description="A monthly plan, for the dunning demo.",
        recurring_interval="month",
        recurring_interval_count=1,
        prices=[{"amount_type": "fixed", "price_amount": 1500, "price_currency": "usd"}],
    )
    benefit = benefit_create(organization=organization, type="custom", description="Team support channel", properties={})
    product_benefits_set(product=product, benefits=[benefit.id])
    return product


def _failing_subscription(organization, product, *, email: str, name: str, start: dt.datetime) -> Subscription:
    from billing.payments.services import payment_method_attach
    from billing.subscriptions.lifecycle import subscription_create
    from customers.models import Customer

    customer = Customer.objects.filter(organization=organization, email=email).first()
    if customer is None:
        customer = Customer.objects.create(organization=organization, email=email, name=name)
    subscription = Subscription.objects.filter(organization=organization, customer=customer, product=product).first()
    if subscription is not None:
        return subscription
    with clock.freeze(start):
        payment_method_attach(customer=customer, token="pm_card_visa", set_default=True)
        subscription = subscription_create(organization=organization, customer=customer, product=product)
        # The card on file is replaced by one the bank will decline at the renewal.
        failing = payment_method_attach(customer=customer, token="pm_card_chargeCustomerFail", set_default=True)
        subscription.payment_method = failing
        subscription.save(update_fields=["payment_method"])
    return subscription


def _travel(subscription: Subscription, *, retries: int, billing_run) -> None:
    """The renewal, then ``retries`` scheduled retries, each at its instant (never beyond now)."""
    renewal = subscription.current_period_end if subscription.status == "active" else None
    if renewal is not None and renewal <= clock.now():
        billing_run(now=renewal)
    case = DunningCase.objects.filter(subscription=subscription).order_by("started_at").first()
    if case is None:
        return
    for _ in range(retries):
        case.refresh_from_db()
        if case.next_attempt_at is None or case.next_attempt_at > clock.now() or case.next_slot > retries:
            break
        billing_run(now=case.next_attempt_at)


def seed_demo_dunning(*, organization, billing_run) -> dict:
    """Seed both customers (see the module docstring). Returns their subscriptions' states.
    ``billing_run``: ``billing.scheduler.billing_run`` (passed in: the scheduler imports dunning)."""
    from billing.dunning.services import dunning_retry_for_customer
    from billing.payments.services import payment_method_attach

    now = clock.now()
    product = _product(organization)
    start = now - dt.timedelta(days=40)  # renewed ~10 days ago: two retries (+2 and +7 days) are behind us
    recovered = _failing_subscription(organization, product, email=RECOVERED_EMAIL, name="Riley Recovered", start=start)
    past_due = _failing_subscription(organization, product, email=PAST_DUE_EMAIL, name="Pat Pastdue", start=start)
    for subscription in (recovered, past_due):
        _travel(subscription, retries=2, billing_run=billing_run)

    pending = Order.objects.filter(subscription=recovered, status=OrderStatus.PENDING).exists()
    if pending:
        # What the portal does when the customer adds a card.
        payment_method_attach(customer=recovered.customer, token="pm_card_visa", set_default=True)
        dunning_retry_for_customer(customer=recovered.customer)
    result = {}
    for label, subscription in (("recovered", recovered), ("past_due", past_due)):
        subscription.refresh_from_db()
        result[label] = {"customer": subscription.customer.email, "status": subscription.status}
    return result
