"""The demo's billing history (``make demo``, ``manage.py seed_demo_billing``): a metered subscription
renewed month by month through ``billing_run`` (``billing.scheduler``).

``seed_demo_billing`` (what ``manage.py seed_demo_billing`` runs) makes, in the demo organization:
a meter ("Demo API calls", counting ``api_call`` events), a product "Demo API" (20.00/month fixed +
0.1¢ per call) and "Demo API Pro" (50.00/month fixed + the same metered price), a customer with
``pm_card_visa``, a subscription started on the first day of the month three months ago, events in
each month, a plan change to Pro scheduled (``next_period``) in the second month, and
``billing_run`` at each month's end, so the demo shows renewals, usage lines and a plan change. Each call
carries a ``_cost`` (what it cost the merchant), so the metrics' unit economics (costs, margin, cost per user)
have months of figures.

Idempotent: rows are found by name/email before being created, events carry fixed ``external_id``s
(deduplicated by ingestion), the plan change is scheduled once, and ``billing_run`` at an instant
already run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction

from billing.catalog.demo import seed_tiered_products
from billing.models import Meter, PendingSubscriptionUpdate, Product, Subscription
from billing.pricing import next_period_end
from polar import clock
from polar.organizations.demo import DemoSeed, demo_seed_step

EVENTS_PER_MONTH = (1200, 2600, 900)


def _call_cost(rng: random.Random) -> str:
    """0.10¢ to 0.90¢ a call (cents as a decimal string, as ``_cost.amount`` accepts): the months' margins differ
    with their volume (20.00/month + 0.1¢ a call against about 0.5¢ a call of cost)."""
    return str(round(rng.uniform(0.1, 0.9), 4))


def _first_of_month_months_ago(now: dt.datetime, months: int) -> dt.datetime:
    index = now.year * 12 + now.month - 1 - months
    return dt.datetime(index // 12, index % 12 + 1, 1, 9, 0, tzinfo=dt.UTC)


def _product(organization, *, name, amount, meter):
    from billing.catalog.services import product_create

    existing = Product.objects.filter(organization=organization, name=name).first()
    if existing is not None:
        return existing
    return product_create(
        organization=organization,
        name=name,
        description=f"{name}: a monthly plan with API usage billed in arrears.",
        recurring_interval="month",
        recurring_interval_count=1,
        prices=[
            {"amount_type": "fixed", "price_amount": amount, "price_currency": "usd"},
            {"amount_type": "metered_unit", "price_currency": "usd", "meter_id": str(meter.id), "unit_amount": "0.1"},
        ],
    )


def seed_demo_billing(*, organization_slug: str = "demo") -> dict:
    from billing.payments.services import payment_method_attach
    from billing.scheduler import billing_run
    from billing.subscriptions.changes import subscription_change_product
    from billing.subscriptions.lifecycle import subscription_create
    from billing.usage.event_rollups import event_rollup_refresh
    from billing.usage.rollups import meter_rollup_refresh
    from billing.usage.services import events_ingest
    from customers.models import Customer
    from payouts.demo import demo_payout_account
    from polar.organizations.models import Organization

    organization, _ = Organization.objects.get_or_create(slug=organization_slug, defaults={"name": "Demo"})
    demo_payout_account(organization)  # weekly payouts: the months below end with payouts paid (payouts/demo.py)
    with transaction.atomic():
        meter = Meter.objects.filter(organization=organization, name="Demo API calls").first() or Meter.objects.create(
            organization=organization,
            name="Demo API calls",
            filter={"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "api_call"}]},
            aggregation={"func": "count"},
        )
    basic = _product(organization, name="Demo API", amount=2000, meter=meter)
    pro = _product(organization, name="Demo API Pro", amount=5000, meter=meter)
    seed_tiered_products(organization=organization, meter=meter)  # metered_tiers + unit_based (issue 22)
    customer = Customer.objects.filter(organization=organization, email="metered@demo.example").first()
    if customer is None:
        customer = Customer.objects.create(organization=organization, email="metered@demo.example", name="Metered Demo Customer")
    subscription = Subscription.objects.filter(organization=organization, customer=customer).order_by("created_at").first()
    if subscription is None:
        start = _first_of_month_months_ago(clock.now(), len(EVENTS_PER_MONTH))
        with clock.freeze(start):
            card = payment_method_attach(customer=customer, token="pm_card_visa", set_default=True)
            subscription = subscription_create(organization=organization, customer=customer, product=basic, payment_method=card)
    start = subscription.started_at
    rng = random.Random(str(subscription.id))
    period_start = start
    for month, count in enumerate(EVENTS_PER_MONTH):
        period_end = next_period_end(period_start, "month", 1, start.day)
        if period_end > clock.now():
            break
        span = (period_end - period_start).total_seconds()
        events = []
        for k in range(count):
            at = period_start + dt.timedelta(seconds=int(rng.random() * (span - 2)) + 1)
            events.append(
                {
                    "name": "api_call",
                    "customer_id": str(customer.id),
                    "timestamp": at.isoformat(),
                    "external_id": f"demo-billing-{subscription.id}-{month}-{k}",
                    # What the call cost the merchant (an upstream model): the unit-economics figures read it.
                    "metadata": {"_cost": {"amount": _call_cost(rng), "currency": "usd"}},
                }
            )
        with clock.freeze(period_end):
            for i in range(0, len(events), 1000):
                events_ingest(organization=organization, events=events[i : i + 1000])
        if (
            month == 1
            and not PendingSubscriptionUpdate.objects.filter(subscription=subscription).exists()
            and subscription.product_id == basic.id
        ):
            with clock.freeze(period_start + dt.timedelta(days=10)):
                subscription_change_product(subscription=subscription, product=pro, proration_behavior="next_period")
        billing_run(now=period_end)
        period_start = period_end
    # The events were ingested under a frozen clock, so their ingested_at may be behind a watermark that beat
    # already moved: rebuild the organization's rollups rather than wait for events the refresh would never see.
    for row in Meter.objects.filter(organization=organization, archived_at__isnull=True):
        meter_rollup_refresh(meter=row, rebuild=True)
    event_rollup_refresh(organization_id=organization.id, rebuild=True)
    subscription.refresh_from_db()
    return {
        "organization": organization.slug,
        "subscription_id": str(subscription.id),
        "status": subscription.status,
        "product": subscription.product.name,
        "orders": subscription.orders.count(),
        "current_period_end": subscription.current_period_end.isoformat(),
    }


@demo_seed_step("billing", order=100, atomic=False)
def seed_billing(seed: DemoSeed) -> None:
    from billing.dunning.demo import seed_demo_dunning
    from billing.models import Order
    from billing.scheduler import billing_run

    before = Order.objects.filter(organization=seed.organization).count()
    seed_demo_billing(organization_slug=seed.organization.slug)
    # Customers whose card fails (billing/dunning/demo.py).
    seed_demo_dunning(organization=seed.organization, billing_run=billing_run)
    seed.count("billing", Order.objects.filter(organization=seed.organization).count() - before)
