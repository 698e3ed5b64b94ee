import json
from decimal import Decimal

from django.apps import apps
from django.core.management import call_command

from billing.analytics import selectors
from billing.models import Order, Subscription
from billing.models.events import Event
from billing.usage.event_rollups import event_rollup_check, event_rollup_watermark
from polar import clock


def _counts():
    return {m._meta.label: m.objects.count() for app in ("billing", "customers") for m in apps.get_app_config(app).get_models()}


def test_seed_demo_billing_fills_three_months_and_is_idempotent(db, capsys):
    call_command("seed_demo_billing")
    result = json.loads(capsys.readouterr().out)
    subscription = Subscription.objects.get(pk=result["subscription_id"])
    orders = list(Order.objects.filter(subscription=subscription).order_by("created_at"))
    assert [o.billing_reason for o in orders] == ["subscription_create"] + ["subscription_cycle"] * 3
    assert all(o.paid for o in orders)
    assert subscription.product.name == "Demo API Pro"
    # usage lines in arrears: 1200 calls × 0.1¢ = 120, 2600 → 260, 900 → 90
    assert [list(o.items.all())[1].amount for o in orders[1:]] == [120, 260, 90]
    assert [list(o.items.all())[0].amount for o in orders[1:]] == [2000, 5000, 5000]

    # Every call carries a cost, so the unit-economics figures have months to show; read through the rollups
    # the seed rebuilt, they agree with the events.
    organization = subscription.organization
    calls = Event.objects.filter(organization=organization, customer=subscription.customer, name="api_call")
    costs = [Decimal(e.metadata["_cost"]["amount"]) for e in calls]
    assert len(costs) == 4700 and all(Decimal("0.1") <= c <= Decimal("0.9") for c in costs)
    assert event_rollup_watermark(organization_id=organization.id) is not None
    assert event_rollup_check(organization_id=organization.id) == []
    every_cost = sum(
        Decimal(e.metadata["_cost"]["amount"]) for e in Event.objects.filter(organization=organization) if "_cost" in e.metadata
    )
    start = subscription.started_at.date()
    range_start, range_end = selectors.bucket_range(start_date=start, end_date=clock.now().date(), unit="month", timezone="UTC")
    scope = selectors.MetricsScope(
        organization_id=organization.id, currency="usd", timezone="UTC", unit="month", range_start=range_start,
        range_end=range_end, now=clock.now(),
    )  # fmt: skip
    months = selectors.event_metrics(scope)
    assert sum(m["costs"] for m in months) == every_cost
    assert [m["costs"] > 0 for m in months[:3]] == [True, True, True]
    assert months == selectors.event_metrics_raw(scope)

    before = _counts()
    call_command("seed_demo_billing")
    assert _counts() == before
