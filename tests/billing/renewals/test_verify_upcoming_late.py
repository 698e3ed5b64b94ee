"""billing_verify, the upcoming-renewal preview, and usage that arrives after its period was billed."""

import datetime as dt
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.benefits.services import benefit_create
from billing.catalog.services import product_benefits_set
from billing.models import Order, OrderItem, Payment
from polar import clock

from .conftest import ingest, metered_product, subscribe


def at(month, day, hour=12):
    return dt.datetime(2026, month, day, hour, 0, tzinfo=dt.UTC)


def run_billing(now):
    call_command("run_billing", now=now.isoformat())


def cycle_orders(subscription):
    return list(Order.objects.filter(subscription=subscription, billing_reason="subscription_cycle").order_by("period_start"))


# --- billing_verify ---------------------------------------------------------------------------------


def test_billing_verify_passes_on_orders_written_by_the_services(organization, customer, subscription, capsys):
    ingest(organization, customer, at(2, 3), 9)
    run_billing(at(3, 31))
    call_command("billing_verify")
    assert "3 orders checked, 0 mismatch(es)" in capsys.readouterr().out


def test_billing_verify_catches_a_tampered_order_item(organization, customer, subscription, capsys):
    ingest(organization, customer, at(2, 3), 9)
    run_billing(at(2, 28))
    (order,) = cycle_orders(subscription)
    usage_item = order.items.get(position=1)
    OrderItem.objects.filter(pk=usage_item.pk).update(amount=usage_item.amount + 100)

    with pytest.raises(CommandError, match="1 order mismatch"):
        call_command("billing_verify", organization=organization.slug)
    out = capsys.readouterr().out
    assert f"order {order.id} ({order.invoice_number}) item 1: amount is 105, recomputed 5" in out


def test_billing_verify_catches_a_tampered_total(organization, customer, subscription, capsys):
    run_billing(at(2, 28))
    (order,) = cycle_orders(subscription)
    Order.objects.filter(pk=order.pk).update(tax_amount=1, total_amount=order.total_amount + 1)
    with pytest.raises(CommandError):
        call_command("billing_verify")
    out = capsys.readouterr().out
    assert "tax_amount is 1, recomputed 0" in out and "total_amount is 1001, recomputed 1000" in out


def test_billing_verify_for_another_organization_ignores_these_orders(organization, other_organization, subscription, capsys):
    run_billing(at(2, 28))
    Order.objects.filter(subscription=subscription).update(total_amount=5, net_amount=5, subtotal_amount=5)
    call_command("billing_verify", organization=other_organization.slug)
    assert "0 orders checked, 0 mismatch(es)" in capsys.readouterr().out


# --- upcoming ----------------------------------------------------------------------------------------


def test_upcoming_previews_the_next_renewal_with_usage_so_far_and_writes_nothing(
    api_client, organization, customer, subscription
):
    ingest(organization, customer, at(2, 3), 12)
    with clock.freeze(at(2, 10)), CaptureQueriesContext(connection) as queries:
        response = api_client.get(f"/v1/subscriptions/{subscription.id}/upcoming")
    assert response.status_code == 200, response.json()
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    # Authentication stamps the token's last use; the preview itself writes nothing.
    assert [w for w in writes if "organizations_organizationaccesstoken" not in w] == []
    body = response.json()
    assert [(i["label"], i["amount"]) for i in body["items"]] == [
        ("API plan", 1000),
        ("API plan – API calls usage (2026-01-31 – 2026-02-28)", 6),
    ]
    assert (body["subtotal_amount"], body["total_amount"], body["due_amount"], body["billing_reason"]) == (
        1006,
        1006,
        1006,
        "subscription_cycle",
    )
    assert (body["id"], body["subscription_id"], body["currency"]) == (None, str(subscription.id), "usd")
    assert body["items"][0]["start_timestamp"].startswith("2026-02-28T12:00:00")
    assert not Order.objects.filter(billing_reason="subscription_cycle").exists()


def test_upcoming_of_another_organizations_subscription_is_404(other_api_client, subscription):
    response = other_api_client.get(f"/v1/subscriptions/{subscription.id}/upcoming")
    assert response.status_code == 404
    assert response.json()["error"] == "ResourceNotFound"


def test_upcoming_with_a_malformed_id_is_422_with_its_loc(api_client, subscription):
    response = api_client.get("/v1/subscriptions/not-a-uuid/upcoming")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "id"]


def test_upcoming_of_an_unknown_subscription_is_404(api_client, subscription):
    assert api_client.get(f"/v1/subscriptions/{uuid.uuid4()}/upcoming").status_code == 404


# --- late usage --------------------------------------------------------------------------------------


def test_late_usage_is_billed_on_the_next_cycle_as_a_line_labelled_with_its_period(organization, customer, subscription):
    ingest(organization, customer, at(2, 3), 10)
    run_billing(at(2, 28))
    first = cycle_orders(subscription)[0]
    first_total = first.total_amount
    ingest(organization, customer, at(2, 20), 4, received=at(3, 5))  # happened in [Jan 31, Feb 28), arrives Mar 5
    ingest(organization, customer, at(3, 20), 2)

    run_billing(at(3, 31))

    first.refresh_from_db()
    assert first.total_amount == first_total == 1005  # the closed order is never rewritten
    second = cycle_orders(subscription)[1]
    assert [(i.label, i.amount, i.period_start, i.period_end) for i in second.items.all()] == [
        ("API plan", 1000, at(3, 31), at(4, 30)),
        ("API plan – API calls usage (2026-02-28 – 2026-03-31)", 1, at(2, 28), at(3, 31)),
        ("Late usage: API calls (2026-01-31 – 2026-02-28)", 2, dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC), at(2, 28)),
    ]
    late = second.pricing_inputs["lines"][2]
    assert (late["units"], late["credited_units"]) == ("14", "10")
    # Billed once: the third cycle has no late line.
    run_billing(at(4, 30))
    assert [i.label for i in cycle_orders(subscription)[2].items.all()] == [
        "API plan",
        "API plan – API calls usage (2026-03-31 – 2026-04-30)",
    ]
    call_command("billing_verify")


def test_late_usage_respects_credits_and_what_is_left_of_the_cap(organization, customer, card, meter):
    product = metered_product(organization, meter, cap_amount=20)
    credit = benefit_create(
        organization=organization, type="meter_credit", description="10 free", properties={"units": 10, "meter_id": str(meter.id)}
    )
    product_benefits_set(product=product, benefits=[credit.id])
    subscription = subscribe(organization, customer, product)
    ingest(organization, customer, at(2, 3), 6)  # under the credit: 0 billed
    run_billing(at(2, 28))
    ingest(organization, customer, at(2, 4), 7, received=at(3, 1))  # now 13: 3 over the credit → 1.5 → 2
    run_billing(at(3, 31))
    ingest(
        organization, customer, at(2, 5), 100, received=at(4, 1)
    )  # 113 − 10 = 103 × 0.5 = 51.5, but only 20 − 2 = 18 of the cap is left
    run_billing(at(4, 30))
    ingest(organization, customer, at(2, 6), 100, received=at(5, 1))  # the cap is used up: nothing more
    run_billing(at(5, 31))

    late = [[(i.label, i.amount) for i in o.items.all() if i.label.startswith("Late")] for o in cycle_orders(subscription)]
    assert late == [
        [],
        [("Late usage: API calls (2026-01-31 – 2026-02-28)", 2)],
        [("Late usage: API calls (2026-01-31 – 2026-02-28)", 18)],
        [],
    ]


def test_usage_received_after_the_boundary_but_before_a_delayed_cycle_is_billed_once(organization, customer, subscription):
    ingest(organization, customer, at(2, 27), 6, received=at(3, 2))  # after the boundary, before the (late) run
    run_billing(at(3, 3))  # an outage: the Feb 28 cycle runs on Mar 3 and counts them
    run_billing(at(3, 31))
    first, second = cycle_orders(subscription)
    assert [i.amount for i in first.items.all()] == [1000, 3]
    assert [i.label for i in second.items.all() if i.label.startswith("Late")] == []


def test_upcoming_shows_a_scheduled_plan_change_at_the_next_renewal(api_client, organization, customer, subscription):
    from billing.subscriptions.changes import subscription_change_product
    from tests.factories.subscriptions import monthly_product

    premium = monthly_product(organization, name="Premium", amount=3000)
    with clock.freeze(at(2, 10)):
        subscription_change_product(subscription=subscription, product=premium, proration_behavior="next_period")
        body = api_client.get(f"/v1/subscriptions/{subscription.id}/upcoming").json()
    assert [(i["label"], i["amount"]) for i in body["items"]] == [
        ("Premium", 3000),
        ("API plan – API calls usage (2026-01-31 – 2026-02-28)", 0),
    ]
    assert body["product_id"] == str(premium.id)


def test_usage_that_arrives_after_the_subscription_ended_is_billed_once_on_its_own_order(organization, customer, card, meter):
    from billing.subscriptions.lifecycle import subscription_cancel

    from .conftest import metered_product as make_product

    product = make_product(organization, meter)
    subscription = subscribe(organization, customer, product)
    ingest(organization, customer, at(2, 5), 4)
    with clock.freeze(at(2, 10)):
        subscription_cancel(subscription=subscription)
    call_command("run_billing", now=at(2, 28).isoformat())  # ends it; final usage order (4 × 0.5 = 2)
    subscription.refresh_from_db()
    assert subscription.status == "canceled"

    ingest(organization, customer, at(2, 20), 10, received=at(3, 10))  # February usage, after the end
    call_command("run_billing", now=at(3, 15).isoformat())
    call_command("run_billing", now=at(3, 15).isoformat())  # same instant: nothing more
    call_command("run_billing", now=at(4, 15).isoformat())  # later, nothing new: nothing more

    final, late = cycle_orders(subscription)
    assert [(i.label, i.amount) for i in late.items.all()] == [("Late usage: API calls (2026-01-31 – 2026-02-28)", 5)]
    assert (late.status, late.total_amount, late.period_start) == ("paid", 5, at(3, 15))
    assert Payment.objects.filter(order=late, status="succeeded").count() == 1

    ingest(organization, customer, at(2, 21), 2, received=at(4, 20))  # more, later still
    call_command("run_billing", now=at(4, 25).isoformat())
    assert [list(o.items.all())[0].amount for o in cycle_orders(subscription)] == [2, 5, 1]
    call_command("billing_verify")


def test_late_usage_order_left_uncharged_by_a_crash_is_charged_by_the_next_run(organization, customer, card, meter, monkeypatch):
    from billing.renewals import late_usage
    from billing.subscriptions.lifecycle import subscription_cancel

    subscription = subscribe(organization, customer, metered_product(organization, meter))
    with clock.freeze(at(2, 10)):
        subscription_cancel(subscription=subscription)
    call_command("run_billing", now=at(2, 28).isoformat())
    ingest(organization, customer, at(2, 20), 10, received=at(3, 10))
    with monkeypatch.context() as patched:
        patched.setattr(late_usage, "renewal_order_charge", lambda **kwargs: None)  # the process dies after the commit
        with clock.freeze(at(3, 15)):
            assert late_usage.late_usage_after_end()["orders"] == 1
    late = cycle_orders(subscription)[-1]
    assert late.status == "pending" and not Payment.objects.filter(order=late).exists()

    call_command("run_billing", now=at(3, 16).isoformat())
    late.refresh_from_db()
    assert late.status == "paid"
    assert Payment.objects.filter(order=late).count() == 1
    assert len(cycle_orders(subscription)) == 2
