"""Bad input never reaches a 500: every operation in the OpenAPI schema, on rows that exist, gets malformed
bodies and query strings and must answer a 4xx (or 2xx)."""

import json
import uuid

import pytest

from polar import ratelimit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _forget_the_auth_failures():
    """The organization token this test sends to the customer-portal routes (which take customer sessions)
    counts as failed authentications from 127.0.0.1; past the limit the address is locked out for ten
    minutes, which would refuse every later test of this process (the live-server contract tests run last)."""
    yield
    ratelimit.flush_all()


BODIES = [
    {},
    {"a": 1},
    [],
    "x",
    1,
    None,
    {"metadata": []},
    {"metadata": {"k": {"x": 1}}},
    {"prices": "x"},
    {"prices": [1]},
    {"prices": [{"amount_type": "fixed", "price_amount": 10**30, "price_currency": "usd"}]},
    {"name": "x" * 10000, "recurring_interval": "month"},
    {"events": [{"name": 1}]},
    {"events": "x"},
    {"products": ["nope"]},
    {"products": [str(uuid.uuid4())]},
    {"email": "a@b.co", "type": "weird"},
    {"customer_id": "zz", "product_id": None},
    {"url": "ftp://x", "events": ["x"]},
    {"filter": {"conjunction": "xor"}},
    {"token": {"a": 1}},
    {"cancel_at_period_end": "maybe"},
    {"proration_behavior": 5, "product_id": 1},
    {"amount": -1, "basis_points": 10**12, "type": "percentage", "duration": "once", "name": "n"},
]


def test_malformed_input_on_every_operation_never_answers_5xx(api_client, organization):
    from billing.subscriptions.lifecycle import subscription_create
    from tests.factories.catalog import MeterFactory
    from tests.factories.payments import attach_card
    from tests.factories.subscriptions import custom_benefit, monthly_product, percentage_discount

    product = monthly_product(organization, amount=1000)
    card = attach_card(organization=organization, email="f@x.co", external_id="ext-1")
    sub = subscription_create(organization=organization, customer=card.customer, product=product, payment_method=card)
    meter = MeterFactory(organization=organization)
    benefit = custom_benefit(organization)
    discount = percentage_discount(organization)
    checkout = api_client.post("/v1/checkouts/", {"products": [str(product.id)]}, format="json").json()
    endpoint = api_client.post(
        "/v1/webhooks/endpoints", {"url": "http://127.0.0.1:9/x", "format": "raw", "events": ["order.paid"]}, format="json"
    ).json()
    order = sub.orders.first()
    ids = {
        "products": product.id,
        "customers": card.customer.id,
        "subscriptions": sub.id,
        "meters": meter.id,
        "benefits": benefit.id,
        "discounts": discount.id,
        "checkouts": checkout["id"],
        "webhooks": endpoint.get("id"),
        "orders": order.id,
        "payments": card.id,
    }
    schema = api_client.get("/openapi.json?format=json").json()
    bad = []
    for path, ops in schema["paths"].items():
        concrete = path
        first = path.split("/")[2]
        if first in ids:
            concrete = concrete.replace("{id}", str(ids[first]), 1)
        concrete = (
            concrete.replace("{external_id}", "ext-1")
            .replace("{client_secret}", checkout["client_secret"])
            .replace("{payment_method_id}", str(card.id))
        )
        for part in ["{id}", "{external_id}", "{client_secret}", "{payment_method_id}", "{activation_id}"]:
            concrete = concrete.replace(part, str(uuid.uuid4()))
        for method in ops:
            if method not in ("post", "patch", "get", "delete"):
                continue
            bodies = BODIES if method in ("post", "patch") else [None]
            for body in bodies:
                if method == "get":
                    r = api_client.get(
                        concrete,
                        {"limit": "abc", "sorting": "zz", "customer_id": "nope", "start_timestamp": "x", "metadata[a]": "b"},
                    )
                elif method == "delete":
                    r = api_client.delete(concrete)
                else:
                    r = getattr(api_client, method)(concrete, json.dumps(body), content_type="application/json")
                if r.status_code >= 500:
                    bad.append((method, path, body, r.status_code, r.content[:200]))
    assert not bad, bad
