import json

from django.apps import apps
from django.core.management import call_command

from billing.models import Order, Subscription


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

    before = _counts()
    call_command("seed_demo_billing")
    assert _counts() == before
