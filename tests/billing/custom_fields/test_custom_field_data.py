"""Answers to custom fields (``custom_field_data``): checked against the selected product's attached fields
at checkout creation, update and confirmation (Polar's 422 shape), stored on the checkout, carried to the
order and the subscription (and the subscription's renewals), returned in their payloads and webhooks."""

import datetime as dt

import pytest

from billing.custom_fields.services import custom_field_create, product_custom_fields_set
from billing.models import Checkout, Order, OrderBillingReason, Subscription
from billing.renewals import batch as renewals_batch
from billing.renewals import cycle as renewals
from polar import clock
from polar.webhooks.models import WebhookEvent
from tests.factories.subscriptions import monthly_product, one_time_product

pytestmark = pytest.mark.django_db

JAN = dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC)
FEB = dt.datetime(2026, 2, 15, 12, 30, tzinfo=dt.UTC)
EMPTY = {"vat": None, "employees": None, "size": None, "tos": False, "start": None}
ANSWERS = {"vat": "FR123", "employees": 12, "size": "l", "tos": True, "start": "2026-03-01"}
STORED = {**ANSWERS, "start": "2026-03-01T00:00:00"}


def _ask(product):
    """Five questions on ``product``: employees and tos required."""
    organization = product.organization
    fields = [
        custom_field_create(
            organization=organization, type="text", slug="vat", name="VAT", properties={"min_length": 2, "max_length": 20}
        ),
        custom_field_create(
            organization=organization, type="number", slug="employees", name="Staff", properties={"ge": 1, "le": 1000}
        ),
        custom_field_create(
            organization=organization,
            type="select",
            slug="size",
            name="Size",
            properties={"options": [{"value": "s", "label": "Small"}, {"value": "l", "label": "Large"}]},
        ),
        custom_field_create(organization=organization, type="checkbox", slug="tos", name="Terms", properties={}),
        custom_field_create(organization=organization, type="date", slug="start", name="Start", properties={}),
    ]
    required = {"employees", "tos"}
    product_custom_fields_set(
        product=product, attached=[{"custom_field_id": f.id, "required": f.slug in required} for f in fields]
    )
    return product


@pytest.fixture
def asking(organization):
    return _ask(monthly_product(organization, name="Team plan", amount=3000))


def _create(api_client, product, **body):
    return api_client.post("/v1/checkouts/", {"products": [str(product.id)], **body}, format="json")


def _errors(response):
    assert response.status_code == 422, response.content
    return [(tuple(error["loc"]), error["type"], error["msg"]) for error in response.json()["detail"]]


def _confirm(client, secret, **body):
    payload = {"customer_email": "buyer@example.com", "confirmation_token_id": "pm_card_visa", **body}
    return client.post(f"/v1/checkouts/client/{secret}/confirm", payload, format="json")


def test_create_keeps_answers_of_the_attached_fields_and_lets_required_ones_wait(api_client, asking):
    response = _create(api_client, asking, custom_field_data={"vat": "FR123", "employees": "12", "unknown": "dropped"})
    assert response.status_code == 201, response.content
    body = response.json()
    # Every attached slug is present (Polar's model_dump); a number given as a string is read as Polar reads it.
    assert body["custom_field_data"] == {**EMPTY, "vat": "FR123", "employees": 12}
    assert [(a["custom_field"]["slug"], a["required"]) for a in body["attached_custom_fields"]] == [
        ("vat", False),
        ("employees", True),
        ("size", False),
        ("tos", True),
        ("start", False),
    ]
    assert Checkout.objects.get().custom_field_data == {**EMPTY, "vat": "FR123", "employees": 12}
    created = WebhookEvent.objects.get(type="checkout.created")
    assert created.payload["data"]["custom_field_data"]["employees"] == 12


def test_create_with_wrong_answers_is_422_naming_each_field_and_writes_nothing(api_client, asking):
    response = _create(
        api_client,
        asking,
        custom_field_data={"vat": "F", "employees": 0, "size": "xl", "tos": "yes", "start": "2026-02-30"},
    )
    assert _errors(response) == [
        (("body", "custom_field_data", "vat"), "string_too_short", "String should have at least 2 characters"),
        (("body", "custom_field_data", "employees"), "greater_than_equal", "Input should be greater than or equal to 1"),
        (("body", "custom_field_data", "size"), "literal_error", "Input should be 's' or 'l'"),
        (("body", "custom_field_data", "tos"), "bool_type", "Input should be a valid boolean"),
        (("body", "custom_field_data", "start"), "datetime_parsing", "Input should be a valid datetime"),
    ]
    assert _errors(_create(api_client, asking, custom_field_data={"employees": "many", "vat": 5})) == [
        (("body", "custom_field_data", "vat"), "string_type", "Input should be a valid string"),
        (
            ("body", "custom_field_data", "employees"),
            "int_parsing",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
    ]
    assert _errors(_create(api_client, asking, custom_field_data={"employees": 1.5})) == [
        (("body", "custom_field_data", "employees"), "int_type", "Input should be a valid integer")
    ]
    assert _errors(_create(api_client, asking, custom_field_data=["not", "an", "object"]))[0][0] == ("body", "custom_field_data")
    assert not Checkout.objects.exists()
    assert not WebhookEvent.objects.filter(type="checkout.created").exists()


def test_merchant_and_buyer_updates_replace_the_answers(api_client, anonymous_client, asking):
    body = _create(api_client, asking).json()
    assert body["custom_field_data"] == EMPTY
    response = api_client.patch(f"/v1/checkouts/{body['id']}", {"custom_field_data": {"size": "s"}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["custom_field_data"] == {**EMPTY, "size": "s"}
    response = anonymous_client.patch(
        f"/v1/checkouts/client/{body['client_secret']}", {"custom_field_data": {"employees": 40}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["custom_field_data"] == {**EMPTY, "employees": 40}
    bad = anonymous_client.patch(
        f"/v1/checkouts/client/{body['client_secret']}",
        {"customer_name": "Eve", "custom_field_data": {"employees": 5000}},
        format="json",
    )
    assert _errors(bad) == [
        (("body", "custom_field_data", "employees"), "less_than_equal", "Input should be less than or equal to 1000")
    ]
    # Nothing of a refused update is written, not even its valid fields.
    checkout = Checkout.objects.get()
    assert (checkout.custom_field_data, checkout.customer_name) == ({**EMPTY, "employees": 40}, None)


def test_confirm_needs_the_required_answers_and_charges_nothing_without_them(api_client, anonymous_client, asking):
    body = _create(api_client, asking, custom_field_data={"vat": "FR123"}).json()
    assert _errors(_confirm(anonymous_client, body["client_secret"])) == [
        (("body", "custom_field_data", "employees"), "missing", "Field required"),
        # The stored answers are checked: an unticked box reads false (Polar's Literal[True]).
        (("body", "custom_field_data", "tos"), "literal_error", "Input should be True"),
    ]
    assert _errors(_confirm(anonymous_client, body["client_secret"], custom_field_data={"employees": 3, "tos": False})) == [
        (("body", "custom_field_data", "tos"), "literal_error", "Input should be True")
    ]
    assert not Order.objects.exists() and not Subscription.objects.exists()
    assert Checkout.objects.get().status == "open"


def test_answers_given_at_confirmation_reach_the_subscription_its_orders_and_their_renewals(api_client, anonymous_client, asking):
    with clock.freeze(JAN):
        body = _create(api_client, asking).json()
        response = _confirm(anonymous_client, body["client_secret"], custom_field_data=ANSWERS)
    assert response.status_code == 200, response.content
    assert response.json()["custom_field_data"] == STORED
    subscription = Subscription.objects.get()
    first = Order.objects.get(subscription=subscription)
    assert subscription.custom_field_data == first.custom_field_data == STORED
    assert api_client.get(f"/v1/subscriptions/{subscription.id}").json()["custom_field_data"] == STORED
    assert api_client.get(f"/v1/orders/{first.id}").json()["custom_field_data"] == STORED
    assert api_client.get(f"/v1/checkouts/{body['id']}").json()["custom_field_data"] == STORED
    state = api_client.get(f"/v1/customers/{subscription.customer_id}/state").json()
    assert state["active_subscriptions"][0]["custom_field_data"] == STORED
    paid = WebhookEvent.objects.get(type="order.paid", payload__data__id=str(first.id))
    assert paid.payload["data"]["custom_field_data"] == STORED
    assert WebhookEvent.objects.filter(type="subscription.active").get().payload["data"]["custom_field_data"] == STORED

    with clock.freeze(FEB):
        renewal = renewals.subscription_cycle(subscription_id=subscription.id)
    assert renewal.billing_reason == OrderBillingReason.SUBSCRIPTION_CYCLE
    assert renewal.custom_field_data == STORED


def test_batch_renewals_carry_the_answers_too(api_client, anonymous_client, asking):
    with clock.freeze(JAN):
        body = _create(api_client, asking, custom_field_data=ANSWERS).json()
        assert _confirm(anonymous_client, body["client_secret"]).status_code == 200
    subscription = Subscription.objects.get()
    with clock.freeze(FEB):
        renewals_batch.subscription_cycles_run(subscription_ids=[subscription.id])
    renewal = Order.objects.get(subscription=subscription, billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE)
    assert renewal.custom_field_data == STORED


def test_a_one_time_purchase_order_carries_the_answers(api_client, anonymous_client, organization):
    ebook = _ask(one_time_product(organization))
    body = _create(api_client, ebook).json()
    response = _confirm(anonymous_client, body["client_secret"], custom_field_data={"employees": 7, "tos": True})
    assert response.status_code == 200, response.content
    order = Order.objects.get(billing_reason=OrderBillingReason.PURCHASE)
    assert order.custom_field_data == {**EMPTY, "employees": 7, "tos": True}
    assert api_client.get("/v1/orders/").json()["items"][0]["custom_field_data"] == {**EMPTY, "employees": 7, "tos": True}


def test_a_draft_order_checks_and_keeps_the_merchants_answers(api_client, organization, customer):
    ebook = _ask(one_time_product(organization))
    post = lambda data: api_client.post(  # noqa: E731
        "/v1/orders/", {"customer_id": str(customer.id), "product_id": str(ebook.id), "custom_field_data": data}, format="json"
    )
    assert _errors(post({"size": "m"})) == [
        (("body", "custom_field_data", "size"), "literal_error", "Input should be 's' or 'l'")
    ]
    assert not Order.objects.exists()
    response = post({"size": "s"})
    assert response.status_code == 201, response.content
    assert response.json()["custom_field_data"] == {**EMPTY, "size": "s"}


def test_a_product_without_fields_answers_an_empty_object(api_client, product):
    body = _create(api_client, product, custom_field_data={"anything": 1}).json()
    assert (body["custom_field_data"], body["attached_custom_fields"]) == ({}, [])


def test_the_hosted_page_asks_the_questions_and_keeps_the_answers(api_client, asking):
    from django.test import Client

    body = _create(api_client, asking, custom_field_data={"vat": "FR123"}).json()
    browser = Client()
    page = browser.get(f"/checkout/{body['client_secret']}").content.decode()
    for expected in ('name="cf_vat" type="text" value="FR123"', 'name="cf_employees" type="number"', 'name="cf_tos"'):
        assert expected in page, expected
    assert '<option value="l">Large</option>' in page and 'name="cf_start" type="date"' in page
    form = {
        "customer_email": "page@example.com",
        "card_number": "4242 4242 4242 4242",
        "product_id": str(asking.id),
        "cf_vat": "FR123",
        "cf_employees": "0",
    }
    refused = browser.post(f"/checkout/{body['client_secret']}", form)
    assert refused.status_code == 422
    html = refused.content.decode()
    # Each wrong answer is shown next to its question; what the buyer typed is kept.
    assert 'id="error_cf_employees" role="alert">Input should be greater than or equal to 1<' in html
    assert 'id="error_cf_tos" role="alert">Input should be True<' in html
    assert 'name="cf_employees" type="number" value="0"' in html
    assert not Subscription.objects.exists()

    paid = browser.post(f"/checkout/{body['client_secret']}", {**form, "cf_employees": "25", "cf_tos": "on", "cf_size": "s"})
    assert paid.status_code == 302, paid.content.decode()[:2000]
    expected = {**EMPTY, "vat": "FR123", "employees": 25, "tos": True, "size": "s"}
    assert Subscription.objects.get().custom_field_data == expected
    assert Order.objects.get().custom_field_data == expected
