"""metered_tiers renewals through run_billing (issue 22): usage that crosses tiers, meter credits taken
off first, one order line per tier reached, a cap that bites; checked to the cent against hand
computations, recomputed by billing_verify from the stored inputs, previewed by /upcoming."""

import datetime as dt

from django.core.management import call_command

from billing.benefits.services import benefit_create
from billing.catalog.services import product_benefits_set, product_create
from billing.models import Order, OrderStatus
from billing.renewals.preview import renewal_preview, subscription_meter_amounts
from billing.renewals.verify import order_mismatches
from billing.usage.services import events_ingest
from polar import clock

from .conftest import T0, make_meter, subscribe

API_TIERS = {
    "type": "graduated",
    "tiers": [
        {"bound": 1000, "unit_amount": "0"},
        {"bound": 100000, "unit_amount": "0.5"},
        {"bound": None, "unit_amount": "0.2"},
    ],
}
VOLUME_TIERS = {
    "type": "volume",
    "tiers": [{"bound": 1000, "unit_amount": "1"}, {"bound": 10000, "unit_amount": "0.8"}, {"bound": None, "unit_amount": "0.5"}],
}


def at(month, day, hour=12):
    return dt.datetime(2026, month, day, hour, 0, tzinfo=dt.UTC)


def calls_meter(organization):
    meter = make_meter(organization, name="Calls", event_name="calls")
    meter.aggregation = {"func": "sum", "property": "n"}
    meter.save()
    return meter


def use(organization, customer, when, n):
    with clock.freeze(when + dt.timedelta(seconds=1)):
        events_ingest(
            organization=organization,
            events=[{"name": "calls", "customer_id": str(customer.id), "timestamp": when.isoformat(), "metadata": {"n": n}}],
        )


def tiered_product(organization, meter, tiers, cap=None, name="API"):
    metered = {"amount_type": "metered_tiers", "price_currency": "usd", "meter_id": str(meter.id), "tiers": tiers}
    if cap is not None:
        metered["cap_amount"] = cap
    return product_create(
        organization=organization,
        name=name,
        recurring_interval="month",
        prices=[{"amount_type": "fixed", "price_amount": 1000, "price_currency": "usd"}, metered],
    )


def cycle_orders(subscription):
    return list(Order.objects.filter(subscription=subscription, billing_reason="subscription_cycle").order_by("period_start"))


def usage_rows(order):
    return [(i.label.split(" · ")[-1], i.amount) for i in order.items.order_by("position", "created_at")][1:]


def test_graduated_usage_crosses_tiers_with_credits_and_a_cap_that_bites(organization, customer, card):
    meter = calls_meter(organization)
    product = tiered_product(organization, meter, API_TIERS, cap=50_000)
    credit = benefit_create(
        organization=organization,
        type="meter_credit",
        description="2,000 calls",
        properties={"units": 2000, "meter_id": str(meter.id)},
    )
    product_benefits_set(product=product, benefits=[credit.id])
    subscription = subscribe(organization, customer, product)
    use(organization, customer, at(2, 3), 100_000)
    use(organization, customer, at(2, 20), 52_000)  # month 1: 152,000 calls
    use(organization, customer, at(3, 10), 3_003)  # month 2: 3,003 calls

    # /upcoming mid-month shows the running amount of the usage so far (100,000 − 2,000 = 98,000 billable)
    with clock.freeze(at(2, 10)):
        preview = renewal_preview(subscription=subscription)
        running = subscription_meter_amounts(subscription=subscription)
    assert [i.amount for i in preview.items] == [1000, 0, 48_500]  # 97,000 × 0.5
    assert running == {str(meter.id): 48_500}  # Polar's SubscriptionMeter.amount

    call_command("run_billing", now=at(2, 28).isoformat())
    call_command("run_billing", now=at(3, 31).isoformat())
    first, second = cycle_orders(subscription)

    # Month 1 by hand: 152,000 − 2,000 credited = 150,000 billable;
    # 1,000 × 0 = 0; 99,000 × 0.5 = 49,500; 50,000 × 0.2 = 10,000 → 59,500, capped at 50,000:
    # the third tier bills what is left of the cap, 500.
    assert usage_rows(first) == [
        ("units 1–1,000: 1,000 × 0¢", 0),
        ("units 1,001–100,000: 99,000 × 0.5¢", 49_500),
        ("units 100,001+: 50,000 × 0.2¢ (capped)", 500),
    ]
    assert (first.subtotal_amount, first.total_amount, first.status) == (51_000, 51_000, OrderStatus.PAID)
    # Month 2: 3,003 − 2,000 = 1,003 billable: 0 + 3 × 0.5 = 1.5 → 2 (half away from zero); the cap does not bite.
    assert usage_rows(second) == [("units 1–1,000: 1,000 × 0¢", 0), ("units 1,001–100,000: 3 × 0.5¢", 2)]
    assert second.total_amount == 1002
    # the inputs are on the order, and billing_verify recomputes both from them alone
    line = first.pricing_inputs["lines"][1]
    assert (line["units"], line["credited_units"], line["price"]["cap_amount"]) == ("152000", "2000", 50_000)
    assert line["price"]["rate_tiers"]["tiers"][1] == {"bound": 100000, "unit_amount": "0.5"}
    assert order_mismatches(first) == [] and order_mismatches(second) == []


def test_volume_usage_prices_every_unit_at_the_tier_reached(organization, customer, card):
    meter = calls_meter(organization)
    product = tiered_product(organization, meter, VOLUME_TIERS, cap=5_000, name="Volume API")
    subscription = subscribe(organization, customer, product)
    use(organization, customer, at(2, 3), 1_000)  # month 1: exactly on the first bound
    use(organization, customer, at(3, 3), 4_001)  # month 2: second tier
    use(organization, customer, at(4, 3), 12_000)  # month 3: third tier, 6,000 → capped at 5,000
    for now in (at(2, 28), at(3, 31), at(4, 30)):
        call_command("run_billing", now=now.isoformat())
    orders = cycle_orders(subscription)
    assert [usage_rows(o) for o in orders] == [
        [("1,000 units at the 1–1,000 rate: 1,000 × 1¢", 1_000)],
        [("4,001 units at the 1,001–10,000 rate: 4,001 × 0.8¢", 3_201)],  # 3,200.8 → 3,201
        [("12,000 units at the 10,001+ rate: 12,000 × 0.5¢ (capped)", 5_000)],
    ]
    assert [o.total_amount for o in orders] == [2_000, 4_201, 6_000]
    assert all(order_mismatches(o) == [] for o in orders)
    assert orders[0].period_start == at(2, 28) and orders[0].items.order_by("position").last().period_start == T0


def late(organization, customer, when, n, received):
    with clock.freeze(received):
        events_ingest(
            organization=organization,
            events=[{"name": "calls", "customer_id": str(customer.id), "timestamp": when.isoformat(), "metadata": {"n": n}}],
        )


def test_graduated_late_usage_bills_what_the_later_units_cost_where_they_fall(organization, customer, card):
    meter = calls_meter(organization)
    subscription = subscribe(organization, customer, tiered_product(organization, meter, API_TIERS))
    use(organization, customer, at(2, 3), 1_500)
    call_command("run_billing", now=at(2, 28).isoformat())  # 1,000 × 0 + 500 × 0.5 = 250
    late(organization, customer, at(2, 20), 99_000, received=at(3, 2))  # into the billed period
    call_command("run_billing", now=at(3, 31).isoformat())
    call_command("run_billing", now=at(4, 30).isoformat())
    first, second, third = cycle_orders(subscription)
    assert usage_rows(first)[-1] == ("units 1,001–100,000: 500 × 0.5¢", 250)

    # By hand: the 99,000 late calls are calls 1,501–100,500: 98,500 × 0.5 = 49,250 in the second tier and
    # 500 × 0.2 = 100 in the third → 49,350; shown as the whole period now less what was billed.
    late_rows = [
        (i.label.split("(2026-01-31 – 2026-02-28)")[-1], i.amount)
        for i in second.items.order_by("position")
        if i.label.startswith("Late")
    ]
    assert late_rows == [
        (" · units 1–1,000: 1,000 × 0¢", 0),
        (" · units 1,001–100,000: 99,000 × 0.5¢", 49_500),
        (" · units 100,001+: 500 × 0.2¢", 100),
        (" – already billed · units 1–1,000: 1,000 × 0¢", 0),
        (" – already billed · units 1,001–100,000: 500 × 0.5¢", -250),
    ]
    assert sum(amount for _label, amount in late_rows) == 49_350
    assert second.total_amount == 1000 + 0 + 49_350  # the fixed price, March's (no) usage, the late usage
    assert second.status == OrderStatus.PAID
    # Billed once: the third cycle has no late line; billing_verify recomputes all three from their inputs.
    assert not [i for i in third.items.all() if i.label.startswith("Late")]
    assert [order_mismatches(o) for o in (first, second, third)] == [[], [], []]


def test_volume_late_usage_reaching_a_cheaper_tier_refunds_nothing(organization, customer, card):
    meter = calls_meter(organization)
    subscription = subscribe(organization, customer, tiered_product(organization, meter, VOLUME_TIERS))
    use(organization, customer, at(2, 3), 9_000)
    call_command("run_billing", now=at(2, 28).isoformat())  # 9,000 × 0.8 = 7,200
    late(organization, customer, at(2, 20), 2_000, received=at(3, 2))  # 11,000 × 0.5 = 5,500 < 7,200
    call_command("run_billing", now=at(3, 31).isoformat())
    first, second = cycle_orders(subscription)
    assert first.total_amount == 1000 + 7_200
    assert not [i for i in second.items.all() if i.label.startswith("Late")]
    assert second.total_amount == 1000


def test_customer_meters_show_the_running_tiered_amount(organization, customer, card, api_client):
    from billing.portal.sessions import customer_session_create
    from tests.billing.portal.conftest import portal_client
    from tests.factories import CustomerFactory

    meter = calls_meter(organization)
    product = tiered_product(organization, meter, API_TIERS)
    credit = benefit_create(
        organization=organization,
        type="meter_credit",
        description="2,000 calls",
        properties={"units": 2000, "meter_id": str(meter.id)},
    )
    product_benefits_set(product=product, benefits=[credit.id])
    subscribe(organization, customer, product)
    use(organization, customer, at(2, 3), 100_000)
    walk_in = CustomerFactory(organization=organization, email="walk-in@example.com")  # usage, no subscription
    use(organization, walk_in, at(2, 4), 10)

    with clock.freeze(at(2, 10)):
        merchant = api_client.get("/v1/customer-meters/").json()["items"]
        portal = portal_client(customer_session_create(customer=customer)[1]).get("/v1/customer-portal/meters/").json()["items"]
        single = api_client.get(f"/v1/customer-meters/{portal[0]['id']}").json()
    by_customer = {row["customer_id"]: row for row in merchant}
    # 100,000 − 2,000 credited = 98,000: 1,000 × 0 + 97,000 × 0.5 = 48,500, as the renewal would bill it.
    mine = by_customer[str(customer.id)]
    assert (mine["consumed_units"], mine["credited_units"], mine["amount"], mine["currency"]) == (100_000, 2000, 48_500, "usd")
    assert (portal[0]["amount"], portal[0]["currency"]) == (48_500, "usd")
    assert (single["amount"], single["currency"]) == (48_500, "usd")
    # A meter no subscription bills has no price: no amount.
    assert (by_customer[str(walk_in.id)]["amount"], by_customer[str(walk_in.id)]["currency"]) == (None, None)
