"""One organization with rows of every kind the merchant API lists, for the tests that walk every endpoint
(query budgets, schema fuzzing, the authorization matrix)."""

import datetime as dt


def _post(api_client, path, body):
    response = api_client.post(path, body, format="json")
    assert response.status_code in (200, 201, 202), (path, response.content)
    return response.json()


def seed_every_kind(api_client, organization, settings, n: int = 10) -> dict:
    """At least ``n`` rows of every kind the merchant lists return (through the services and the API, so
    that every row carries what a real one does); returns the ids of one row of each kind."""
    from billing.benefits.services import benefit_grants_create_for
    from billing.catalog.services import product_update
    from billing.disputes.services import dispute_open
    from billing.models import CustomerMeter, LicenseKey, Payment
    from billing.refunds.services import refund_create
    from billing.subscriptions.lifecycle import subscription_create
    from payouts.postings import HOLDING_PERIOD, payments_release_due
    from payouts.services import payout_create
    from polar import clock
    from polar.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEvent
    from tests.factories.catalog import make_license_keys_benefit
    from tests.factories.customers import TeamCustomerFactory
    from tests.factories.payments import attach_card
    from tests.factories.subscriptions import custom_benefit, monthly_product, percentage_discount
    from tests.factories.usage import MeterFactory
    from tests.payouts.conftest import bank_account

    settings.SANDBOX_PROCESSOR_FAULT = ""
    ids: dict = {}
    # One endpoint hears what the seeding emits (its deliveries fill the delivery list); nine more fill the
    # endpoint list.
    endpoint = _post(
        api_client,
        "/v1/webhooks/endpoints",
        {"url": "http://127.0.0.1:9/hook", "format": "raw", "events": ["order.created", "order.paid", "subscription.created"]},
    )
    ids["endpoint"] = endpoint["id"]
    for index in range(n - 1):
        _post(
            api_client,
            "/v1/webhooks/endpoints",
            {"url": f"http://127.0.0.1:9/h{index}", "format": "raw", "events": ["order.paid"]},
        )
    license_benefit = make_license_keys_benefit(organization=organization)
    benefits = [license_benefit] + [custom_benefit(organization, description=f"Support {i}") for i in range(n - 1)]
    ids["benefit"] = license_benefit.id
    products = [monthly_product(organization, name=f"Plan {i}", amount=1000 + i, benefits=benefits[:3]) for i in range(n)]
    ids["product"] = products[0].id
    discounts = [percentage_discount(organization, basis_points=100 * (i + 1)) for i in range(n)]
    ids["discount"] = discounts[0].id
    meters = [MeterFactory(organization=organization, name=f"Meter {i}") for i in range(n)]
    ids["meter"] = meters[0].id
    subscriptions = []
    for index in range(n):
        card = attach_card(organization=organization, email=f"c{index}@example.com", external_id=f"ext-{index}")
        subscription = subscription_create(
            organization=organization, customer=card.customer, product=products[index], payment_method=card
        )
        benefit_grants_create_for(customer=card.customer, product=products[index], subscription_id=subscription.id)
        subscriptions.append(subscription)
    customer = subscriptions[0].customer
    ids.update(customer=customer.id, external_id=customer.external_id, subscription=subscriptions[0].id)
    orders = [subscription.orders.get() for subscription in subscriptions]
    ids["order"] = orders[0].id
    # Two payouts: each takes the whole released balance, so the second needs two more paid orders first.
    bank_account(organization)
    payouts = []
    for round_ in range(2):
        if round_:
            for extra in range(2):
                card = attach_card(organization=organization, email=f"p{extra}@example.com")
                subscription_create(organization=organization, customer=card.customer, product=products[0], payment_method=card)
        payments_release_due(now=clock.now() + HOLDING_PERIOD + dt.timedelta(seconds=1))
        payouts.append(payout_create(organization=organization))
    ids["payout"] = payouts[0].id
    # The outbox fans an event out to its endpoints after commit (never in this test's transaction): write the
    # deliveries and attempts it would have written (the delivery list lists attempts).
    for event in WebhookEvent.objects.filter(organization=organization).order_by("created_at")[:n]:
        delivery = WebhookDelivery.objects.create(
            organization=organization,
            event=event,
            endpoint_id=endpoint["id"],
            event_created_at=event.created_at,
            event_type=event.type,
        )
        WebhookDeliveryAttempt.objects.create(
            organization=organization,
            delivery=delivery,
            endpoint_id=endpoint["id"],
            event=event,
            event_type=event.type,
            number=1,
            attempted_at=clock.now(),
            succeeded=False,
            http_code=500,
            duration_ms=12,
        )
    for order in orders:
        refund_create(organization=organization, order_id=order.id, amount=100, reason="customer_request")
        payment = Payment.objects.get(order=order)
        dispute = dispute_open(
            payment=payment, processor_dispute_ref=f"dp_{order.id}", amount=200, reason=None, opened_at=order.created_at
        )
    ids["dispute"] = dispute.id
    ids["license_key"] = LicenseKey.objects.filter(organization=organization).first().id
    events = [
        {"name": "api_call", "customer_id": str(sub.customer_id), "metadata": {"n": i}} for i, sub in enumerate(subscriptions)
    ]
    _post(api_client, "/v1/events/ingest", {"events": events})
    ids["event"] = api_client.get("/v1/events/", {"limit": 1}).json()["items"][0]["id"]
    # Customer meters are materialized by their list; read it once so a row exists for the get.
    api_client.get("/v1/customer-meters/")
    ids["customer_meter"] = CustomerMeter.objects.filter(customer__organization=organization).first().id
    checkouts = [_post(api_client, "/v1/checkouts/", {"products": [str(products[i].id)]}) for i in range(n)]
    ids["checkout"] = checkouts[0]["id"]
    links = [
        _post(api_client, "/v1/checkout-links/", {"payment_processor": "stripe", "products": [str(products[i].id)]})
        for i in range(n)
    ]
    ids["checkout_link"] = links[0]["id"]
    fields = [
        _post(
            api_client,
            "/v1/custom-fields/",
            {"type": "text", "slug": f"field-{i}", "name": f"Field {i}", "properties": {}},
        )
        for i in range(n)
    ]
    ids["custom_field"] = fields[0]["id"]
    team = TeamCustomerFactory(organization=organization, name="Ops", external_id="team:1")
    ids["team"] = team.id
    for index in range(n):
        _post(api_client, f"/v1/customers/{team.id}/members", {"email": f"member{index}@example.com"})
    # Price history: every new price archives the one it replaces; ten versions of the last product (one
    # no subscription uses, so its prices are plain catalog rows).
    for index in range(n - 1):
        product_update(
            product=products[-1],
            prices=[{"amount_type": "fixed", "price_amount": 2000 + index, "price_currency": "usd"}],
        )
    ids["versioned_product"] = products[-1].id
    return ids
