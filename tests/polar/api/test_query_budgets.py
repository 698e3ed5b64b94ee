"""Query budgets (issue 20): every list endpoint of the merchant API runs the same number of SQL queries
for a page of 1 as for a page of 10 (no query per item), and every list and get endpoint stays within a
stated budget. One organization is seeded with at least ten rows of each kind, through the services and
the API, so that every row carries what a real one does (prices, benefits, grants, payments, refunds).

Each budget is the count measured when it was set. Every request pays a fixed floor that is not the
endpoint's own work: the token lookup (1 query: the token joined to its organization); the comment beside
each budget names what the endpoint itself reads. A budget that must grow should be raised here on
purpose, with the reason.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

N = 10

# Every request starts with the token lookup (1 query: the token joined to its organization); every page
# then counts its rows (1) and reads them (1). The rest is what each payload embeds, one query per relation.
LIST_BUDGETS = {
    "/v1/products/": 6,  # + active prices, benefit links, custom-field links (is_deletable is in the SELECT)
    "/v1/customers/": 3,
    "/v1/subscriptions/": 9,  # + product, its prices/benefits/custom fields, subscription prices, pending updates
    "/v1/orders/": 4,  # + order items
    "/v1/checkouts/": 12,  # + product and offered products, each product with prices/benefits/custom fields
    "/v1/checkout-links/": 8,  # + link products, product, prices/benefits/custom fields
    "/v1/benefits/": 3,
    "/v1/benefit-grants/": 3,
    "/v1/benefits/{benefit}/grants": 4,  # + the benefit
    "/v1/discounts/": 5,  # + amounts, product restrictions
    "/v1/license-keys/": 3,
    "/v1/meters/": 3,
    # Computed rows: the meters (1), consumed units per customer (1 grouped query per meter: 10 here, so
    # linear in the number of meters, not in the page nor the customers), the upsert of new pairs (1), the
    # rows (1), their subscriptions' periods (1) and meter-credit grants (1). Not paginated in SQL: every
    # row of the organization is computed, then the page is cut (see the report of issue 20).
    "/v1/customer-meters/": 16,
    "/v1/events/": 3,
    "/v1/webhooks/endpoints": 3,
    "/v1/webhooks/deliveries": 3,  # attempts joined to their delivery, endpoint and event in one SELECT
    "/v1/refunds/": 3,
    "/v1/disputes/": 3,
    "/v1/transactions/": 3,
    "/v1/payouts/": 3,
    "/v1/custom-fields/": 3,
    "/v1/payments/": 3,
    "/v1/products/{versioned_product}/prices": 7,  # + the product and its 3 output prefetches
    "/v1/customers/{team}/members": 4,  # + the team customer
}

# path -> budget for one object: the token lookup, the row, then what the payload embeds.
GET_BUDGETS = {
    "/v1/products/{product}": 5,  # row + prices, benefits, custom fields
    "/v1/customers/{customer}": 2,
    "/v1/customers/external/{external_id}": 2,
    # Active subscriptions with their prices and meters, granted benefits, and the customer meters (as the
    # customer-meter list: 1 query per meter of the organization, 10 here): see billing/customer_state.py.
    "/v1/customers/{customer}/state": 21,
    "/v1/customers/external/{external_id}/state": 21,
    "/v1/subscriptions/{subscription}": 8,
    "/v1/orders/{order}": 3,
    "/v1/checkouts/{checkout}": 11,
    "/v1/checkout-links/{checkout_link}": 7,
    "/v1/benefits/{benefit}": 2,
    "/v1/discounts/{discount}": 4,
    "/v1/license-keys/{license_key}": 3,
    "/v1/meters/{meter}": 2,
    "/v1/customer-meters/{customer_meter}": 8,
    "/v1/events/{event}": 2,
    "/v1/webhooks/endpoints/{endpoint}": 2,
    "/v1/disputes/{dispute}": 2,
    "/v1/payouts/{payout}": 2,
    "/v1/custom-fields/{custom_field}": 2,
}


def _post(api_client, path, body):
    response = api_client.post(path, body, format="json")
    assert response.status_code in (200, 201, 202), (path, response.content)
    return response.json()


def _seed(api_client, organization, settings) -> dict:
    """At least ten rows of every kind the lists return; returns the ids the get endpoints need."""
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
    for index in range(N - 1):
        _post(
            api_client,
            "/v1/webhooks/endpoints",
            {"url": f"http://127.0.0.1:9/h{index}", "format": "raw", "events": ["order.paid"]},
        )
    license_benefit = make_license_keys_benefit(organization=organization)
    benefits = [license_benefit] + [custom_benefit(organization, description=f"Support {i}") for i in range(N - 1)]
    ids["benefit"] = license_benefit.id
    products = [monthly_product(organization, name=f"Plan {i}", amount=1000 + i, benefits=benefits[:3]) for i in range(N)]
    ids["product"] = products[0].id
    discounts = [percentage_discount(organization, basis_points=100 * (i + 1)) for i in range(N)]
    ids["discount"] = discounts[0].id
    meters = [MeterFactory(organization=organization, name=f"Meter {i}") for i in range(N)]
    ids["meter"] = meters[0].id
    subscriptions = []
    for index in range(N):
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
    for event in WebhookEvent.objects.filter(organization=organization).order_by("created_at")[:N]:
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
    checkouts = [_post(api_client, "/v1/checkouts/", {"products": [str(products[i].id)]}) for i in range(N)]
    ids["checkout"] = checkouts[0]["id"]
    links = [
        _post(api_client, "/v1/checkout-links/", {"payment_processor": "stripe", "products": [str(products[i].id)]})
        for i in range(N)
    ]
    ids["checkout_link"] = links[0]["id"]
    fields = [
        _post(
            api_client,
            "/v1/custom-fields/",
            {"type": "text", "slug": f"field-{i}", "name": f"Field {i}", "properties": {}},
        )
        for i in range(N)
    ]
    ids["custom_field"] = fields[0]["id"]
    team = TeamCustomerFactory(organization=organization, name="Ops", external_id="team:1")
    ids["team"] = team.id
    for index in range(N):
        _post(api_client, f"/v1/customers/{team.id}/members", {"email": f"member{index}@example.com"})
    # Price history: every new price archives the one it replaces; ten versions of the last product (one
    # no subscription uses, so its prices are plain catalog rows).
    for index in range(N - 1):
        product_update(
            product=products[-1],
            prices=[{"amount_type": "fixed", "price_amount": 2000 + index, "price_currency": "usd"}],
        )
    ids["versioned_product"] = products[-1].id
    return ids


def _count(api_client, path, params=None):
    with CaptureQueriesContext(connection) as captured:
        response = api_client.get(path, params or {})
    assert response.status_code == 200, (path, response.status_code, response.content[:300])
    return len(captured.captured_queries), response.json()


def test_list_and_get_endpoints_stay_within_their_query_budgets(api_client, organization, settings):
    ids = _seed(api_client, organization, settings)
    api_client.get("/v1/products/", {"limit": 1})  # the token's first request also records its last use

    measured, sizes = {}, {}
    for template in LIST_BUDGETS:
        path = template.format(**ids)
        one, small = _count(api_client, path, {"limit": 1})
        ten, large = _count(api_client, path, {"limit": N})
        measured[template] = (one, ten)
        sizes[template] = (len(small["items"]), len(large["items"]))
    for template in GET_BUDGETS:
        measured[template], _ = _count(api_client, template.format(**ids))

    thin = {path: size for path, size in sizes.items() if size[1] < 2}
    assert not thin, f"seed at least two rows for {thin}"
    growing = {path: counts for path, counts in measured.items() if isinstance(counts, tuple) and counts[0] != counts[1]}
    assert not growing, f"query count grows with the page size (1 item, {N} items): {growing}"
    over = {
        path: (counts, budget)
        for path, budget in {**LIST_BUDGETS, **GET_BUDGETS}.items()
        if (counts[1] if isinstance(counts := measured[path], tuple) else counts) > budget
    }
    assert not over, f"over budget (measured, budget): {over}"
