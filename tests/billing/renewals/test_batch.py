"""The batch path (what the workers and run_billing use) against the single-subscription cycle.

Every scenario is built twice in one organization: one twin renewed by ``renewals.subscription_cycle``
one subscription at a time, the other by ``renewals_batch.subscription_cycles_run`` in one batch
with all the other scenarios. Both must end in the same state: orders, items, stored inputs,
payments, subscription fields, webhook events and audit entries.
"""

import collections
import datetime as dt
import threading

import pytest
from auditlog.models import LogEntry
from django.db import connections

from billing import scheduler
from billing.benefits.services import benefit_create
from billing.catalog.services import product_benefits_set
from billing.models import Order, OrderStatus, Payment, SandboxCharge, SandboxSettings, Subscription, SubscriptionStatus, TaxRate
from billing.orders.payloads import OrderOutput
from billing.payments.services import payment_method_delete, payments_reconcile_pending
from billing.renewals import batch as renewals_batch
from billing.renewals import cycle as renewals
from billing.subscriptions.changes import subscription_change_product
from billing.subscriptions.lifecycle import subscription_cancel
from billing.subscriptions.payloads import SubscriptionOutput
from polar import clock
from polar.audit import system_actor
from polar.webhooks.models import WebhookEvent
from polar.webhooks.services.outbox import payload_as_json as _jsonable
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card
from tests.factories.subscriptions import monthly_product, percentage_discount

from .conftest import ingest, make_meter, metered_product, subscribe

FEB = dt.datetime(2026, 2, 28, 12, 0, tzinfo=dt.UTC)
MAR = dt.datetime(2026, 3, 31, 12, 0, tzinfo=dt.UTC)


def at(month, day, hour=12):
    return dt.datetime(2026, month, day, hour, 0, tzinfo=dt.UTC)


SCENARIOS = [
    "plain",
    "trial",
    "discount",
    "credits_and_cap",
    "rollover",
    "tax",
    "cancel",
    "plan_change",
    "declined",
    "no_method",
    "late_usage",
    "external_id",
]


def _build(organization, scenario: str, tag: str, shared: dict) -> Subscription:
    kwargs = {}
    if scenario == "tax":
        kwargs["billing_address"] = {"country": "FR", "line1": "1 rue", "city": "Paris", "postal_code": "75001"}
    if scenario == "external_id":
        kwargs["external_id"] = f"ext-{tag}"
    customer = CustomerFactory(organization=organization, email=f"{scenario}-{tag}@example.com", **kwargs)
    card = attach_card(customer, "pm_card_visa")
    product = shared["product"]
    sub_kwargs = {}
    if scenario == "trial":
        sub_kwargs["trial_end"] = at(2, 14)
    if scenario == "discount":
        sub_kwargs["discount"] = shared["discount"]
    if scenario == "credits_and_cap":
        product = shared["credited_product"]
    if scenario == "rollover":
        product = shared["rollover_product"]
    subscription = subscribe(organization, customer, product, payment_method=card, **sub_kwargs)
    ingest(organization, customer, at(2, 5), {"credits_and_cap": 30, "rollover": 4}.get(scenario, 12))
    if scenario == "cancel":
        with clock.freeze(at(2, 10)):
            subscription_cancel(subscription=subscription)
    if scenario == "plan_change":
        with clock.freeze(at(2, 10)):
            subscription_change_product(subscription=subscription, product=shared["premium"], proration_behavior="next_period")
    if scenario == "declined":
        declining = attach_card(customer, "pm_card_chargeCustomerFail", set_default=False)
        Subscription.objects.filter(pk=subscription.pk).update(payment_method=declining)
    if scenario == "no_method":
        payment_method_delete(payment_method=card)
    if scenario == "external_id":
        # Events still carried under the external id only (not linked yet) are the customer's usage too.
        ingest(organization, customer, at(2, 6), 5)
        from billing.models.events import Event

        Event.objects.filter(customer=customer, timestamp=at(2, 6)).update(
            customer=None, external_customer_id=customer.external_id
        )
    return Subscription.objects.get(pk=subscription.pk)


@pytest.fixture
def twins(organization):
    meter = make_meter(organization)
    credit = benefit_create(
        organization=organization,
        type="meter_credit",
        description="10 free calls",
        properties={"units": 10, "meter_id": str(meter.id)},
    )
    credited_product = metered_product(organization, meter, name="Credited plan", cap_amount=8)
    product_benefits_set(product=credited_product, benefits=[credit.id])
    TaxRate.objects.create(organization=organization, country="FR", basis_points=2000)
    rolling = benefit_create(
        organization=organization,
        type="meter_credit",
        description="10 calls, unused kept",
        properties={"units": 10, "meter_id": str(meter.id), "rollover": True},
    )
    rollover_product = metered_product(organization, meter, name="Rollover plan")
    product_benefits_set(product=rollover_product, benefits=[rolling.id])
    shared = {
        "rollover_product": rollover_product,
        "meter": meter,
        "product": metered_product(organization, meter),
        "credited_product": credited_product,
        "premium": monthly_product(organization, name="Premium", amount=3000),
        "discount": percentage_discount(organization, basis_points=1000, duration="repeating", duration_in_months=3),
    }
    return {tag: {s: _build(organization, s, tag, shared) for s in SCENARIOS} for tag in ("single", "batch")}


def _renew(twins, now):
    with clock.freeze(now), system_actor("test"):
        for subscription in twins["single"].values():
            while True:  # a single cycle per call: renew until nothing is due (as run_billing does)
                fresh = Subscription.objects.get(pk=subscription.pk)
                if fresh.status not in Subscription.RENEWABLE_STATUSES or fresh.current_period_end > now:
                    break
                renewals.subscription_cycle(subscription_id=subscription.id)
        ids = [s.id for s in twins["batch"].values()]
        while Subscription.objects.filter(
            pk__in=ids, status__in=Subscription.RENEWABLE_STATUSES, current_period_end__lte=now
        ).exists():
            result = renewals_batch.subscription_cycles_run(subscription_ids=ids)
            assert result.errors == {}


def _view(subscription: Subscription) -> dict:
    subscription.refresh_from_db()
    orders = list(Order.objects.filter(subscription=subscription, billing_reason="subscription_cycle").order_by("period_start"))
    ids = [str(subscription.id)] + [str(o.id) for o in orders]
    events = collections.Counter(WebhookEvent.objects.filter(payload__data__id__in=ids).values_list("type", flat=True))
    # Per audited row: which fields its create and its updates recorded (a batch may record two updates
    # of one row in one entry: the order's attempt count with its payment, for instance).
    audited = []
    for obj in [subscription, *orders, *Payment.objects.filter(order__in=orders).order_by("created_at")]:
        fields = collections.defaultdict(set)
        for entry in LogEntry.objects.get_for_object(obj):
            fields[entry.action] |= set(entry.changes_dict)
        audited.append((type(obj).__name__, sorted((action, sorted(names)) for action, names in fields.items())))
    return {
        "subscription": (
            subscription.status,
            subscription.current_period_start,
            subscription.current_period_end,
            subscription.credit_balance,
            subscription.discount_applied_cycles,
            subscription.product_id,
            subscription.ended_at,
        ),
        "orders": [
            (
                o.status,
                o.subtotal_amount,
                o.discount_amount,
                o.tax_amount,
                o.total_amount,
                o.applied_balance_amount,
                o.due_amount,
                o.payment_attempts,
                o.period_start,
                o.period_end,
                o.description,
                o.discount_id,
                o.product_id,
                o.pricing_inputs,
                [
                    (
                        i.label,
                        i.amount,
                        i.discount_amount,
                        i.tax_amount,
                        i.proration,
                        i.product_price_id,
                        i.period_start,
                        i.period_end,
                    )
                    for i in o.items.all()
                ],
            )
            for o in orders
        ],
        "payments": sorted(
            (p.status, p.amount, p.decline_reason, p.idempotency_key.split(":", 2)[2])
            for p in Payment.objects.filter(order__in=orders)
        ),
        "webhooks": dict(events),
        "audit": audited,
    }


def test_a_batch_renews_every_scenario_exactly_as_single_cycles(twins, organization):
    _renew(twins, FEB)
    late_single, late_batch = twins["single"]["late_usage"], twins["batch"]["late_usage"]
    for subscription in (late_single, late_batch):  # usage of February that arrives in March
        ingest(organization, subscription.customer, at(2, 20), 7, received=at(3, 5))
    for tag in ("single", "batch"):  # March usage against 10 + 6 carried units of credit
        ingest(organization, twins[tag]["rollover"].customer, at(3, 3), 20)
    _renew(twins, MAR)

    for scenario in SCENARIOS:
        single, batch = _view(twins["single"][scenario]), _view(twins["batch"][scenario])
        for key in single:
            assert batch[key] == single[key], (scenario, key, batch[key], single[key])
    # The scenarios did what they are named for (so the comparison above compared something).
    views = {s: _view(twins["batch"][s]) for s in SCENARIOS}
    assert views["plain"]["orders"][0][14][1][:2] == ("API plan – API calls usage (2026-01-31 – 2026-02-28)", 6)
    assert views["cancel"]["subscription"][0] == SubscriptionStatus.CANCELED
    assert views["declined"]["subscription"][0] == views["no_method"]["subscription"][0] == SubscriptionStatus.PAST_DUE
    assert views["declined"]["orders"][0][7] == 1 and views["no_method"]["orders"][0][7] == 0
    assert views["trial"]["subscription"][0] == SubscriptionStatus.ACTIVE
    assert views["tax"]["orders"][0][3] > 0 and views["discount"]["orders"][0][2] > 0
    assert views["credits_and_cap"]["orders"][0][14][1][1] == 8  # (30 − 10) × 0.5 = 10, capped at 8
    assert views["external_id"]["orders"][0][14][1][1] == 9  # (12 + 5) × 0.5 = 8.5 → 9
    assert any(line[0].startswith("Late usage") for line in views["late_usage"]["orders"][1][14])
    assert views["plan_change"]["subscription"][5] != views["plain"]["subscription"][5]
    assert views["rollover"]["orders"][1][13]["lines"][1]["credited_units"] == "16"  # 10 + the 6 left in February
    assert views["rollover"]["orders"][1][14][1][1] == 2  # (20 − 16) × 0.5


def test_batch_webhook_payloads_equal_the_api_resources(twins):
    _renew(twins, FEB)
    subscription = twins["batch"]["plain"]
    subscription.refresh_from_db()
    order = Order.objects.get(subscription=subscription, billing_reason="subscription_cycle")
    paid = WebhookEvent.objects.get(type="order.paid", payload__data__id=str(order.id))
    assert paid.payload["data"] == _jsonable(OrderOutput(order).data)
    updated = WebhookEvent.objects.filter(type="subscription.updated", payload__data__id=str(subscription.id)).latest(
        "created_at"
    )
    assert updated.payload["data"] == _jsonable(SubscriptionOutput(subscription).data)


def test_batch_writes_are_audited_with_the_actor(twins):
    _renew(twins, FEB)
    subscription = twins["batch"]["plain"]
    order = Order.objects.get(subscription=subscription, billing_reason="subscription_cycle")
    entries = list(LogEntry.objects.get_for_object(order).order_by("timestamp", "id"))
    assert [e.action for e in entries] == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]
    assert {e.actor_email for e in entries} == {"system:test"}
    assert entries[1].changes_dict["status"] == ["pending", "paid"]
    assert "pricing_inputs" not in entries[0].changes_dict  # kept on the order itself
    sub_entry = LogEntry.objects.get_for_object(subscription).latest("timestamp")
    assert "current_period_end" in sub_entry.changes_dict


def _cycle_orders(subscription):
    return list(Order.objects.filter(subscription=subscription, billing_reason="subscription_cycle"))


@pytest.mark.django_db(transaction=True)
def test_two_workers_with_overlapping_batches_make_one_order_and_one_charge_each(organization):
    meter = make_meter(organization)
    product = metered_product(organization, meter)
    subscriptions = []
    for i in range(6):
        customer = CustomerFactory(organization=organization, email=f"c{i}@example.com")
        subscriptions.append(subscribe(organization, customer, product, payment_method=attach_card(customer)))
        ingest(organization, customer, at(2, 3), 4)
    ids = [s.id for s in subscriptions]
    barrier, errors = threading.Barrier(2), []

    def run(chunk):
        try:
            barrier.wait()
            with clock.freeze(FEB):
                renewals_batch.subscription_cycles_run(subscription_ids=chunk)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(ids,)), threading.Thread(target=run, args=(list(reversed(ids)),))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    for subscription in subscriptions:
        (order,) = _cycle_orders(subscription)
        assert order.status == OrderStatus.PAID
        assert SandboxCharge.objects.filter(idempotency_key__startswith=f"order:{order.id}:", status="succeeded").count() == 1
        assert Payment.objects.filter(order=order).count() == 1


def test_a_batch_run_twice_changes_nothing_the_second_time(organization, subscription):
    with clock.freeze(FEB):
        first = renewals_batch.subscription_cycles_run(subscription_ids=[subscription.id])
        counts = (Order.objects.count(), Payment.objects.count(), WebhookEvent.objects.count(), LogEntry.objects.count())
        second = renewals_batch.subscription_cycles_run(subscription_ids=[subscription.id])
    assert len(first.orders) == 1 and second.orders == []
    assert (Order.objects.count(), Payment.objects.count(), WebhookEvent.objects.count(), LogEntry.objects.count()) == counts


def test_a_batch_that_fails_renews_one_subscription_at_a_time(organization, subscription, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("bulk path broken")

    monkeypatch.setattr(renewals_batch, "_advance_bulk", broken)
    with clock.freeze(FEB):
        result = renewals_batch.subscription_cycles_run(subscription_ids=[subscription.id])
    (order,) = _cycle_orders(subscription)
    assert result.orders == [order.id] and result.errors == {}
    assert order.status == OrderStatus.PAID


def test_a_lost_answer_is_found_through_the_key_at_once(organization, subscription, settings):
    settings.SANDBOX_PROCESSOR_FAULT = "timeout_after_charge"  # charged, answer lost: found by key
    with clock.freeze(FEB):
        result = renewals_batch.subscription_cycles_run(subscription_ids=[subscription.id])
    (order,) = _cycle_orders(subscription)
    assert (result.unsettled, order.status) == ([], OrderStatus.PAID)
    assert SandboxCharge.objects.filter(idempotency_key=order.payment_idempotency_key(1)).count() == 1


def test_a_processor_timeout_leaves_the_charge_pending_then_it_is_reconciled_once(organization, subscription, settings):
    settings.SANDBOX_PROCESSOR_FAULT = "timeout"
    with clock.freeze(FEB):
        result = renewals_batch.subscription_cycles_run(subscription_ids=[subscription.id])
    (order,) = _cycle_orders(subscription)
    assert result.unsettled == [subscription.id]
    assert (order.status, Payment.objects.get(order=order).status) == (OrderStatus.PENDING, Payment.Status.PENDING)

    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})
    assert payments_reconcile_pending(created_before=clock.now() + dt.timedelta(days=1)) == {
        "succeeded": 1,
        "failed": 0,
        "pending": 0,
    }
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING  # the payment is settled; the order is the renewal's business
    assert scheduler.renewal_orders_settle() == 1
    assert scheduler.renewal_orders_settle() == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert SandboxCharge.objects.filter(idempotency_key=order.payment_idempotency_key(1)).count() == 1
    assert Payment.objects.get(order=order).status == Payment.Status.SUCCEEDED
    with clock.freeze(FEB):  # the retried task finds it paid: nothing more
        renewals.subscription_cycle(subscription_id=subscription.id)
    assert Payment.objects.filter(order=order).count() == 1


def test_meter_quantity_by_customer_equals_meter_quantity_for_each_customer(organization):
    from billing.models.events import Event
    from billing.usage.selectors import meter_quantity, meter_quantity_by_customer

    meters = [
        make_meter(organization),
        make_meter(organization, name="Tokens", event_name="api_call"),
    ]
    meters[1].aggregation = {"func": "sum", "property": "tokens"}
    meters[1].save()
    customers = [CustomerFactory(organization=organization, external_id=f"x{i}" if i % 2 else None) for i in range(4)]
    from billing.usage.services import events_ingest

    with clock.freeze(at(2, 10)):
        events_ingest(
            organization=organization,
            events=[
                {
                    "name": "api_call",
                    "customer_id": str(c.id),
                    "timestamp": at(2, 1 + k).isoformat(),
                    "metadata": {"tokens": k * (i + 1)},
                }
                for i, c in enumerate(customers)
                for k in range(i + 1)
            ],
        )
    Event.objects.filter(customer=customers[1]).update(customer=None, external_customer_id="x1")  # not linked yet
    for meter in meters:
        grouped = meter_quantity_by_customer(meter=meter, customers=customers, start=at(2, 1), end=at(2, 28))
        for c in customers:
            assert grouped.get(c.id, 0) == meter_quantity(meter=meter, customer=c, start=at(2, 1), end=at(2, 28))
    assert meter_quantity_by_customer(meter=meters[0], customers=customers, start=at(2, 1), end=at(2, 28))[customers[1].id] == 2


def test_the_reconcile_beat_pays_a_renewal_whose_charge_timed_out(organization, subscription, settings):
    from billing.tasks import payments_reconcile

    settings.SANDBOX_PROCESSOR_FAULT = "timeout"
    with clock.freeze(FEB):
        renewals_batch.subscription_cycles_run(subscription_ids=[subscription.id])
    settings.SANDBOX_PROCESSOR_FAULT = ""
    (order,) = _cycle_orders(subscription)
    with clock.freeze(FEB + dt.timedelta(minutes=1)):  # too recent: left for the charge's own retry
        assert payments_reconcile.apply().get()["orders_paid"] == 0
    with clock.freeze(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)):
        assert payments_reconcile.apply().get() == {"succeeded": 1, "failed": 0, "pending": 0, "orders_paid": 1}
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert SandboxCharge.objects.filter(idempotency_key=order.payment_idempotency_key(1), status="succeeded").count() == 1


def test_metrics_show_the_renewal_backlog_and_what_waits_for_an_answer(client, organization, subscription, settings):
    def gauges():
        lines = client.get("/metrics").content.decode().splitlines()
        return {
            line.split()[0]: float(line.split()[1])
            for line in lines
            if line.startswith(("polar_renewal", "polar_payments", "polar_webhook"))
        }

    with clock.freeze(at(2, 1)):
        assert gauges()["polar_renewals_due"] == 0
    with clock.freeze(FEB + dt.timedelta(minutes=5)):
        state = gauges()
        assert (state["polar_renewals_due"], state["polar_renewals_due_oldest_seconds"]) == (1, 300)
    settings.SANDBOX_PROCESSOR_FAULT = "timeout"
    with clock.freeze(FEB):
        renewals_batch.subscription_cycles_run(subscription_ids=[subscription.id])
        state = gauges()
    assert state["polar_renewals_due"] == 0
    assert (state["polar_payments_pending"], state["polar_renewal_orders_unpaid"]) == (1, 1)
    assert state["polar_payments_pending_oldest_seconds"] >= 0
    assert "polar_webhook_deliveries_pending" in state and "polar_webhook_events_not_fanned_out" in state


def test_a_batch_across_organizations_numbers_each_organizations_invoices_gaplessly(organization, other_organization):
    subscriptions = []
    for org in (organization, other_organization, organization, other_organization):
        product = metered_product(org, make_meter(org, name=f"Calls {len(subscriptions)}"))
        customer = CustomerFactory(organization=org, email=f"c{len(subscriptions)}@example.com")
        subscriptions.append(subscribe(org, customer, product, payment_method=attach_card(customer)))
    with clock.freeze(at(2, 10)):  # one organization also has a scheduled change in the batch
        subscription_cancel(subscription=subscriptions[0])
    with clock.freeze(FEB):
        result = renewals_batch.subscription_cycles_run(subscription_ids=[s.id for s in subscriptions])
    assert len(result.orders) == 4 and result.errors == {}
    for org in (organization, other_organization):
        sequences = sorted(Order.objects.filter(organization=org).values_list("invoice_sequence", flat=True))
        assert sequences == list(range(1, len(sequences) + 1))  # creation orders then renewals, no gap


def test_a_batch_bills_usage_through_the_meter_rollup_and_its_tail(organization):
    from django.db import connection

    from billing.usage import rollups

    meter = make_meter(organization)
    product = metered_product(organization, meter)
    customer = CustomerFactory(organization=organization, email="rolled@example.com")
    subscription = subscribe(organization, customer, product, payment_method=attach_card(customer))
    ingest(organization, customer, at(1, 31, 12) + dt.timedelta(minutes=30), 3)
    ingest(organization, customer, at(2, 10), 5)
    ingest(organization, customer, FEB - dt.timedelta(minutes=20), 2)  # received after the refresh below: the tail
    ingest(organization, customer, FEB, 4)  # the next period's
    rollups.meter_rollup_refresh(meter=meter, now=at(2, 20))
    ingest(organization, customer, at(2, 12), 6, received=FEB - dt.timedelta(minutes=1))  # backdated, in the tail
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(events) FROM billing_meter_rollup WHERE meter_id = %s", [meter.id])
        assert cursor.fetchone()[0] == 8  # 3 + 5 rolled up; 2 + 6 read from the raw tail
    with clock.freeze(FEB):
        renewals_batch.subscription_cycles_run(subscription_ids=[subscription.id])
    (order,) = _cycle_orders(subscription)
    usage = [(i.label, i.amount) for i in order.items.all() if "usage" in i.label]
    assert usage == [("API plan – API calls usage (2026-01-31 – 2026-02-28)", 8)]  # 16 calls × 0.5
