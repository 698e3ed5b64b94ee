"""/metrics exposes every metric docs/slo.md and the alert rules use, each moved by the flow that feeds it:
ingestion, checkout, renewal (on time, declined, recovered), webhook delivery and endpoint disabling, and the
Celery backlog read from Redis. Counters are compared before and after (the process's registry is shared by
the whole test run)."""

import datetime as dt
import uuid

import pytest
import redis
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from billing.models import Order, Subscription
from billing.orders.services import order_charge
from billing.scheduler import billing_run
from billing.subscriptions.services import subscription_recover_if_settled
from polar import clock
from polar.celery import app
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card
from tests.factories.subscriptions import monthly_product

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def scrape() -> dict[tuple, float]:
    response = Client().get("/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_ingestion_counts_stored_and_rejected_events(api_client, organization):
    customer = CustomerFactory(organization=organization)
    before = scrape()
    ok = [{"name": "api_call", "customer_id": str(customer.id)} for _ in range(3)]
    assert api_client.post("/v1/events/ingest", {"events": ok}, format="json").status_code == 200
    bad = [{"name": "api_call", "customer_id": str(customer.id)}, {"customer_id": str(customer.id)}]
    assert api_client.post("/v1/events/ingest", {"events": bad}, format="json").status_code == 422
    after = scrape()
    assert value(after, "polar_events_ingested_total") - value(before, "polar_events_ingested_total") == 3
    assert value(after, "polar_events_rejected_total") - value(before, "polar_events_rejected_total") == 2
    route = {"method": "POST", "route": "/v1/events/ingest", "status": "200"}
    assert value(after, "polar_http_request_duration_seconds_count", **route) >= 1


def test_checkout_renewal_decline_recovery_and_webhooks(
    api_client, organization, receiver, make_endpoint, sweep, django_capture_on_commit_callbacks
):
    make_endpoint(events=["order.created", "order.paid"])
    gone = make_endpoint(path="/gone", events=["order.created"])
    receiver.statuses["/gone"].extend([410])
    product = monthly_product(organization, amount=1900)
    before = scrape()

    def at(instant, call):
        with clock.freeze(instant), django_capture_on_commit_callbacks(execute=True):
            return call()

    checkout = at(START, lambda: api_client.post("/v1/checkouts/", {"products": [str(product.id)]}, format="json")).json()
    confirm = {"customer_email": "m@example.com", "customer_name": "M", "confirmation_token_id": "pm_card_visa"}
    response = at(
        START, lambda: APIClient().post(f"/v1/checkouts/client/{checkout['client_secret']}/confirm", confirm, format="json")
    )
    assert response.status_code == 200
    subscription = Subscription.objects.get(organization=organization)
    # The renewal's card declines: the subscription goes past due.
    declining = at(START, lambda: attach_card(subscription.customer, "pm_card_chargeCustomerFail"))
    Subscription.objects.filter(pk=subscription.pk).update(payment_method=declining)
    renewal_at = subscription.current_period_end + dt.timedelta(minutes=1)
    at(renewal_at, lambda: billing_run(now=renewal_at))
    subscription.refresh_from_db()
    assert subscription.status == "past_due"
    with clock.freeze(renewal_at):
        past_due = scrape()
    assert value(past_due, "polar_subscriptions_past_due") == 1
    assert value(past_due, "polar_renewal_lag_seconds") == 0  # renewed: nothing is due any more
    # A good card and a retry of the unpaid order (what dunning does): back to active.
    retry_at = renewal_at + dt.timedelta(days=3)
    good = at(retry_at, lambda: attach_card(subscription.customer, "pm_card_visa"))
    unpaid = Order.objects.get(subscription=subscription, status="pending")
    at(retry_at, lambda: order_charge(order=unpaid, payment_method=good))
    at(retry_at, lambda: subscription_recover_if_settled(subscription=subscription))
    subscription.refresh_from_db()
    assert subscription.status == "active"
    sweep(retry_at + dt.timedelta(minutes=5))
    after = scrape()

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("polar_orders_created_total", billing_reason="subscription_create") == 1
    assert delta("polar_orders_created_total", billing_reason="subscription_cycle") == 1
    assert delta("polar_charges_total", outcome="succeeded", decline_code="") >= 2
    assert delta("polar_charges_total", outcome="declined", decline_code="card_declined") >= 1
    assert delta("polar_dunning_recoveries_total") == 1
    # renewed one minute after the period ended: within the 5-minute objective
    assert delta("polar_renewal_delay_seconds_bucket", le="300.0") == 1
    assert delta("polar_renewal_delay_seconds_count") == 1
    assert delta("polar_webhook_deliveries_total", outcome="succeeded") >= 3
    assert delta("polar_webhook_delivery_latency_seconds_count") >= 3
    assert delta("polar_webhook_endpoints_disabled_total", reason="gone") == 1
    assert value(after, "polar_webhook_endpoints_disabled") == 1
    gone.refresh_from_db()
    assert not gone.enabled
    for gauge in (
        "polar_renewals_due",
        "polar_payments_pending",
        "polar_webhook_deliveries_pending",
        "polar_webhook_events_not_fanned_out",
        "polar_ledger_breaches",
    ):
        assert (gauge, ()) in after, gauge


def test_celery_queue_length_and_oldest_task_age_come_from_redis(settings):
    queue = f"test-metrics-{uuid.uuid4().hex[:8]}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        with pytest.warns(Warning):  # send_task is never eager: the message goes to the broker
            app.send_task("polar.tests.nothing", queue=queue)
            app.send_task("polar.tests.nothing", queue=queue)
        samples = scrape()
        assert value(samples, "polar_celery_queue_length", queue=queue) == 2
        assert 0 <= value(samples, "polar_celery_queue_oldest_task_age_seconds", queue=queue) < 60
    finally:
        client.delete(queue)
        client.close()
