"""The request examples of /openapi.json (billing/api_examples.py) are accepted by the API they document:
each one, with the stand-in ids replaced by the caller's real rows, is sent to its operation and answers
2xx; the response example of an ingestion has the keys the API answers with."""

import json

import pytest

from billing import api_examples
from billing.subscriptions import lifecycle
from tests.billing.subscription_fixtures import *  # noqa: F401,F403
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card
from tests.factories.subscriptions import monthly_product
from tests.factories.usage import MeterFactory

pytestmark = pytest.mark.django_db

# Every operation the examples module documents: one that loses its examples fails here.
DOCUMENTED = {
    "products:create": 2,
    "products:update": 1,
    "customers:create": 1,
    "checkouts:create": 2,
    "checkouts:client_confirm": 1,
    "subscriptions:create": 1,
    "subscriptions:update": 1,
    "meters:create": 2,
    "events:ingest": 1,
    "discounts:create": 2,
    "benefits:create": 1,
    "custom-fields:create": 1,
}


def _request_examples(document):
    found = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            examples = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("examples")
            if examples:
                found[operation["operationId"]] = (path, method, [example["value"] for example in examples.values()])
    return found


def test_every_request_example_is_accepted(api_client, anonymous_client, organization):
    meter = MeterFactory(organization=organization)
    product = monthly_product(organization, name="Example plan", amount=1500)
    customer = CustomerFactory(organization=organization, email="examples@example.com")
    attach_card(customer)
    subscriber = CustomerFactory(organization=organization, email="subscriber@example.com")
    attach_card(subscriber)
    subscription = lifecycle.subscription_create(organization=organization, customer=subscriber, product=product)
    checkout = api_client.post("/v1/checkouts/", {"products": [str(product.id)]}, format="json").json()
    stand_ins = {
        api_examples.PRODUCT_ID: str(product.id),
        api_examples.CUSTOMER_ID: str(customer.id),
        api_examples.METER_ID: str(meter.id),
    }
    path_ids = {
        "products:update": {"id": str(product.id)},
        "subscriptions:update": {"id": str(subscription.id)},
        "checkouts:client_confirm": {"client_secret": checkout["client_secret"]},
    }

    response = anonymous_client.get("/openapi.json")
    assert response.status_code == 200
    found = _request_examples(response.json())
    assert {operation: len(values) for operation, (_path, _method, values) in found.items()} == DOCUMENTED

    for operation, (path, method, values) in found.items():
        for name, value in path_ids.get(operation, {}).items():
            path = path.replace("{" + name + "}", value)
        client = anonymous_client if operation == "checkouts:client_confirm" else api_client
        for value in values:
            text = json.dumps(value)
            for stand_in, real in stand_ins.items():
                text = text.replace(stand_in, real)
            body = json.loads(text)
            answer = getattr(client, method)(path, body, format="json")
            assert 200 <= answer.status_code < 300, (operation, value, answer.content)
            if operation == "events:ingest":
                [accepted] = [e for e in api_examples.EVENTS_INGEST if e.response_only]
                assert set(answer.json()) == set(accepted.value) and answer.json()["inserted"] == 2
