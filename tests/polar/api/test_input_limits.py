"""Validate at the edge, bound every number: bad input is a 4xx in Polar's shape on every endpoint, public
ones included, and nothing that passes the edge breaks the database, the pricing engine or the SDKs.

Each test is a finding of issue 11 as a user would hit it over HTTP (docs/input-limits.md lists the limits).
"""

import datetime as dt
import json
import uuid

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from billing.models import Checkout, Order, Subscription
from customers.models import Customer
from polar import clock
from tests.factories.catalog import MeterFactory
from tests.factories.payments import attach_card
from tests.factories.subscriptions import (
    custom_benefit,
    monthly_product,
    percentage_discount,
    seat_product,
)

pytestmark = pytest.mark.django_db


def _errors(response, status=422):
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert isinstance(body["detail"], list) and body["detail"], body
    for error in body["detail"]:
        assert set(error) >= {"loc", "msg", "type"}, error
    return body["detail"]


def _locs(response, status=422):
    return [error["loc"] for error in _errors(response, status)]


def _post_raw(client, url, text, method="post"):
    return getattr(client, method)(url, text, content_type="application/json")


def _checkout(api_client, product, **body):
    response = api_client.post("/v1/checkouts/", {"products": [str(product.id)], **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def product(organization):
    return monthly_product(organization, name="Pro", amount=1000)


# --- finding 3: billing addresses are Polar's Address everywhere they come in ----------------------------

BAD_ADDRESSES = [
    {"country": "XX"},
    {"country": {"nested": {"object": 1}}},
    {"country": "US", "line1": "x" * 200_000},
    {"country": "US", "city": {"a": 1}},
    {"line1": "no country"},
    "US",
]


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_checkout_create_refuses_an_address_that_is_not_polars_address(api_client, product, address):
    response = api_client.post(
        "/v1/checkouts/", {"products": [str(product.id)], "customer_billing_address": address}, format="json"
    )
    assert any(loc[:2] == ["body", "customer_billing_address"] for loc in _locs(response))
    assert not Checkout.objects.exists()


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_public_confirm_refuses_a_bad_address_and_copies_nothing(api_client, anonymous_client, product, address):
    checkout = _checkout(api_client, product)
    response = anonymous_client.post(
        f"/v1/checkouts/client/{checkout['client_secret']}/confirm",
        {"customer_email": "buyer@example.com", "confirmation_token_id": "pm_card_visa", "customer_billing_address": address},
        format="json",
    )
    assert any(loc[:2] == ["body", "customer_billing_address"] for loc in _locs(response))
    assert not Customer.objects.exists() and not Order.objects.exists()


def test_a_valid_address_reaches_the_customer_and_order_normalised(api_client, anonymous_client, product):
    checkout = _checkout(api_client, product)
    response = anonymous_client.post(
        f"/v1/checkouts/client/{checkout['client_secret']}/confirm",
        {
            "customer_email": "buyer@example.com",
            "confirmation_token_id": "pm_card_visa",
            "customer_billing_address": {"country": "fr", "city": "Paris", "line1": "", "unknown": "dropped"},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    expected = {"line1": None, "line2": None, "postal_code": None, "city": "Paris", "state": None, "country": "FR"}
    assert response.json()["customer_billing_address"] == expected
    customer = api_client.get("/v1/customers/").json()["items"][0]
    assert customer["billing_address"] == expected


@pytest.mark.parametrize("address", BAD_ADDRESSES[:4])
def test_customer_create_and_update_refuse_a_bad_address(api_client, address):
    response = api_client.post("/v1/customers/", {"email": "a@example.com", "billing_address": address}, format="json")
    assert any(loc[:2] == ["body", "billing_address"] for loc in _locs(response))
    customer = api_client.post("/v1/customers/", {"email": "a@example.com"}, format="json").json()
    response = api_client.patch(f"/v1/customers/{customer['id']}", {"billing_address": address}, format="json")
    assert any(loc[:2] == ["body", "billing_address"] for loc in _locs(response))


def _hosted_post(client_secret, **fields):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(f"/checkout/{client_secret}")
    assert page.status_code == 200
    data = {
        "csrfmiddlewaretoken": page.cookies["csrftoken"].value,
        "customer_email": "page@example.com",
        "card_number": "4242 4242 4242 4242",
        **fields,
    }
    return browser.post(f"/checkout/{client_secret}", data)


def test_hosted_checkout_form_with_a_product_that_is_not_a_uuid_is_a_422_page(api_client, product):
    checkout = _checkout(api_client, product)
    response = _hosted_post(checkout["client_secret"], product_id="not-a-uuid")
    assert response.status_code == 422
    assert "valid UUID" in response.content.decode()
    assert Checkout.objects.get().status == "open" and not Order.objects.exists()


def test_hosted_checkout_form_refuses_a_bad_country_and_stores_a_good_address(api_client, product):
    checkout = _checkout(api_client, product)
    response = _hosted_post(checkout["client_secret"], product_id=str(product.id), billing_country="XX")
    assert response.status_code == 422 and "ISO 3166-1" in response.content.decode()
    assert not Order.objects.exists()
    response = _hosted_post(checkout["client_secret"], product_id=str(product.id), billing_country="de", billing_city="Berlin")
    assert response.status_code == 302, response.content[:500]
    assert Customer.objects.get().billing_address["country"] == "DE"


# --- finding 11: the public confirm shows the public shape only ------------------------------------------


def test_public_confirm_does_not_publish_the_merchants_metadata(api_client, anonymous_client, product):
    checkout = _checkout(
        api_client,
        product,
        metadata={"internal": "margin-42"},
        customer_metadata={"crm": "vip"},
        external_customer_id="crm-123",
    )
    response = anonymous_client.post(
        f"/v1/checkouts/client/{checkout['client_secret']}/confirm",
        {"customer_email": "buyer@example.com", "confirmation_token_id": "pm_card_visa"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    for private in ("metadata", "customer_metadata", "external_customer_id", "subscription_id", "trial_interval"):
        assert private not in body
    assert "margin-42" not in response.content.decode() and "crm-123" not in response.content.decode()
    assert body["status"] == "confirmed" and body["organization"]["slug"] == "acme"
    # The merchant still sees everything.
    merchant = api_client.get(f"/v1/checkouts/{checkout['id']}").json()
    assert merchant["metadata"] == {"internal": "margin-42"} and merchant["external_customer_id"] == "crm-123"


def test_public_confirm_answer_parses_with_polar_sdk_0_32():
    from polar_sdk.models import CheckoutPublicConfirmed

    from billing.checkouts.payloads import CHECKOUT_PUBLIC_FIELDS

    required = {name for name, field in CheckoutPublicConfirmed.model_fields.items() if field.is_required()}
    aliases = {field.alias or name for name, field in CheckoutPublicConfirmed.model_fields.items() if name in required}
    assert aliases <= set(CHECKOUT_PUBLIC_FIELDS)


# --- finding 6: NUL, non-finite numbers, huge integers, pages, sizes, nesting ------------------------------


def test_nul_in_metadata_keys_and_values_is_422(api_client):
    for metadata in ({"k\u0000": "v"}, {"k": "v\u0000"}):
        response = api_client.post("/v1/customers/", {"email": "a@example.com", "metadata": metadata}, format="json")
        assert _locs(response)[0][:2] == ["body", "metadata"]
    assert not Customer.objects.exists()


def test_nul_in_a_meter_name_is_422(api_client):
    response = api_client.post(
        "/v1/meters/",
        {"name": "tokens\u0000", "filter": {"conjunction": "and", "clauses": []}, "aggregation": {"func": "count"}},
        format="json",
    )
    assert _locs(response) == [["body", "name"]]


def test_nul_in_an_ingested_event_is_422(api_client):
    response = api_client.post("/v1/events/ingest", {"events": [{"name": "a\u0000", "external_customer_id": "x"}]}, format="json")
    assert _locs(response) == [["body", "events", 0, "name"]]


def test_nul_in_the_path_and_in_query_filters_is_422(api_client):
    assert _locs(api_client.get("/v1/customers/external/ab%00cd")) == [["path"]]
    assert _locs(api_client.get("/v1/customers/", {"metadata[plan]": "pro\u0000"})) == [["query", "metadata[plan]"]]
    assert _locs(api_client.get("/v1/customers/", {"metadata[pl\u0000an]": "pro"}))[0][0] == "query"
    assert _locs(api_client.get("/v1/customers/?email=%FF%FE")) == [["query"]]
    assert _locs(api_client.get("/checkout/ab%00cd")) == [["path"]]
    assert _locs(api_client.get("/v1/customers/external/ab%FFcd")) == [["path"]]


def test_a_path_beyond_latin_1_is_read_not_refused(api_client, organization):
    """Found by the schema fuzzer (tests/security): a path with a character beyond U+00FF answered 500, and
    one with "é" was refused as not UTF-8."""
    from tests.factories import CustomerFactory

    CustomerFactory(organization=organization, email="kunde@example.com", external_id="顧客-café")
    response = api_client.get("/v1/customers/external/%E9%A1%A7%E5%AE%A2-caf%C3%A9")
    assert response.status_code == 200, response.content
    assert response.json()["external_id"] == "顧客-café"
    assert api_client.get("/v1/customers/external/顧客-x").status_code == 404


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_in_metadata_are_422(api_client, literal):
    response = _post_raw(api_client, "/v1/customers/", f'{{"email": "a@example.com", "metadata": {{"score": {literal}}}}}')
    assert _errors(response) == [
        {"loc": ["body", "metadata", "score"], "msg": "Input should be a finite number", "type": "finite_number"}
    ]


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"name": "Big", "duration": "once", "type": "fixed", "amount": 10**15, "currency": "usd"}, ["body", "amount"]),
        ({"name": "Big", "duration": "once", "basis_points": 1000, "max_redemptions": 2**31}, ["body", "max_redemptions"]),
        (
            {"name": "Big", "duration": "once", "basis_points": 1000, "max_redemptions_per_customer": 10**12},
            ["body", "max_redemptions_per_customer"],
        ),
        ({"name": "Big", "duration": "once", "type": "fixed", "amounts": {"usd": 10**19}}, ["body", "amounts", "usd"]),
    ],
)
def test_discount_integers_beyond_their_column_are_422(api_client, body, loc):
    assert loc in _locs(api_client.post("/v1/discounts/", body, format="json"))


def test_seat_tiers_beyond_the_seat_limit_are_422(api_client):
    body = {
        "name": "Team",
        "recurring_interval": "month",
        "prices": [
            {
                "amount_type": "seat_based",
                "price_currency": "usd",
                "seat_tiers": {"tiers": [{"min_seats": 1, "max_seats": 2**31, "price_per_seat": 500}]},
            }
        ],
    }
    assert ["body", "prices", 0, "seat_tiers", "tiers", 0, "max_seats"] in _locs(
        api_client.post("/v1/products/", body, format="json")
    )


def test_absurd_seat_counts_are_422_on_checkouts_and_subscriptions(api_client, organization):
    team = seat_product(organization, max_seats=None)
    response = api_client.post("/v1/checkouts/", {"products": [str(team.id)], "seats": 10**12}, format="json")
    assert ["body", "seats"] in _locs(response)
    card = attach_card(organization=organization, email="s@example.com", external_id="s-1")
    response = api_client.post(
        "/v1/subscriptions/", {"customer_id": str(card.customer_id), "product_id": str(team.id), "seats": 2**40}, format="json"
    )
    assert ["body", "seats"] in _locs(response)
    assert not Subscription.objects.filter(product=team).exists()


def test_license_key_benefit_bounds(api_client):
    def create(properties):
        return api_client.post(
            "/v1/benefits/", {"type": "license_keys", "description": "Keys", "properties": properties}, format="json"
        )

    # Finding 1: expiring after 10,000 years crashed at grant time (year 12026 is out of range).
    assert ["body", "properties", "expires", "ttl"] in _locs(create({"expires": {"ttl": 10_000, "timeframe": "year"}}))
    assert ["body", "properties", "expires", "ttl"] in _locs(create({"expires": {"ttl": 40_000, "timeframe": "day"}}))
    # Finding 1: limit_usage of 10**12 did not fit the integer column.
    assert ["body", "properties", "limit_usage"] in _locs(create({"limit_usage": 10**12}))
    assert ["body", "properties", "activations", "limit"] in _locs(
        create({"activations": {"limit": 10**6, "enable_customer_admin": True}})
    )
    assert create({"expires": {"ttl": 100, "timeframe": "year"}, "limit_usage": 1_000_000}).status_code == 201


def test_license_key_update_integers_and_dates_beyond_their_column_are_422(api_client, organization):
    from tests.billing.license_keys.test_api import grant_key

    key, _ = grant_key(organization)
    url = f"/v1/license-keys/{key.id}"
    assert _locs(api_client.patch(url, {"usage": 2**31}, format="json")) == [["body", "usage"]]
    assert _locs(api_client.patch(url, {"limit_usage": 10**12}, format="json")) == [["body", "limit_usage"]]
    assert _locs(api_client.patch(url, {"expires_at": "9999-12-31T00:00:00Z"}, format="json")) == [["body", "expires_at"]]
    assert api_client.patch(url, {"limit_usage": 1_000_000, "usage": 5}, format="json").status_code == 200


def test_a_page_beyond_any_table_is_422(api_client):
    assert _locs(api_client.get("/v1/customers/", {"page": str(10**20)})) == [["query", "page"]]
    assert _locs(api_client.get("/v1/orders/", {"page": "9" * 5000})) == [["query", "page"]]
    assert api_client.get("/v1/customers/", {"page": "1000000"}).status_code == 200


def test_trial_end_far_in_the_future_or_beyond_datetime_range_is_422(api_client, organization, product):
    card = attach_card(organization=organization, email="t@example.com", external_id="t-1")
    body = {"customer_id": str(card.customer_id), "product_id": str(product.id)}
    far = (clock.now() + dt.timedelta(days=20 * 365)).isoformat()
    for trial_end in (far, "9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59Z", "1900-01-01T00:00:00Z"):
        response = api_client.post("/v1/subscriptions/", {**body, "trial_end": trial_end}, format="json")
        assert ["body", "trial_end"] in _locs(response), trial_end


def test_datetimes_beyond_range_are_422_on_discounts(api_client):
    for ends_at in ("9999-12-31T23:59:59-12:00", "9999-12-31T00:00:00Z"):
        response = api_client.post(
            "/v1/discounts/", {"name": "Late", "duration": "once", "basis_points": 100, "ends_at": ends_at}, format="json"
        )
        assert ["body", "ends_at"] in _locs(response), ends_at


def test_deeply_nested_json_is_422_on_authenticated_and_public_endpoints(api_client, anonymous_client, product):
    deep = '{"metadata": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}"
    assert _errors(_post_raw(api_client, "/v1/customers/", deep))[0]["type"] == "too_deeply_nested"
    checkout = _checkout(api_client, product)
    url = f"/v1/checkouts/client/{checkout['client_secret']}/confirm"
    assert _errors(_post_raw(anonymous_client, url, deep))[0]["type"] == "too_deeply_nested"
    nested = '{"metadata": ' + "[" * 40 + "]" * 40 + "}"
    assert _errors(_post_raw(anonymous_client, url, nested))[0]["type"] == "too_deeply_nested"
    assert _errors(_post_raw(api_client, "/v1/events/ingest", '{"events": ' + "[" * 40 + "]" * 40 + "}"))


def test_a_body_over_the_size_limit_is_413_in_polars_shape(api_client, anonymous_client, product):
    big = json.dumps({"email": "a@example.com", "name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    response = _post_raw(api_client, "/v1/customers/", big)
    assert response.status_code == 413 and response.json()["error"] == "PayloadTooLarge"
    checkout = _checkout(api_client, product)
    response = _post_raw(anonymous_client, f"/v1/checkouts/client/{checkout['client_secret']}/confirm", big)
    assert response.status_code == 413 and response.json()["error"] == "PayloadTooLarge"
    response = _post_raw(api_client, "/v1/events/ingest", big)
    assert response.status_code == 413
    assert not Customer.objects.exists()


def test_a_body_without_content_length_over_the_limit_is_413(api_client):
    from io import BytesIO

    from polar.api.parsers import StrictJSONParser
    from polar.errors import PolarError

    with pytest.raises(PolarError) as raised:
        StrictJSONParser().parse(BytesIO(b" " * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)), parser_context={})
    assert raised.value.status_code == 413


# --- every POST / PATCH route of the URL resolver --------------------------------------------------------


def _routes(patterns=None, prefix=""):
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern


def _view_methods(pattern) -> set[str]:
    view = getattr(pattern.callback, "view_class", None) or getattr(pattern.callback, "cls", None)
    if view is None:
        return set()
    return {method for method in ("post", "patch", "put") if hasattr(view, method)}


HOSTILE_BODIES = {
    "nul": json.dumps(
        {
            "name": "a\u0000",
            "email": "a\u0000@example.com",
            "metadata": {"k\u0000": "v\u0000"},
            "events": [{"name": "a\u0000", "external_customer_id": "x\u0000"}],
            "key": "k\u0000",
            "customer_email": "b\u0000@example.com",
            "label": "l\u0000",
            "description": "d\u0000",
        }
    ),
    "nan": '{"metadata": {"a": NaN}, "amount": Infinity, "seats": NaN, "events": [{"name": "a", "metadata": {"a": NaN}}]}',
    "huge_ints": json.dumps(
        {
            "amount": 10**40,
            "seats": 10**20,
            "max_redemptions": 10**19,
            "limit_usage": 10**12,
            "usage": 2**31,
            "basis_points": 10**30,
            "increment_usage": 10**18,
            "page": 10**20,
            "metadata": {"n": 10**30},
        }
    ),
    "deep": '{"metadata": ' + '{"a": ' * 3000 + "1" + "}" * 3000 + "}",
    "deep_list": '{"events": ' + "[" * 100 + "]" * 100 + "}",
}


@pytest.fixture
def concrete_ids(api_client, organization):
    from billing.subscriptions.lifecycle import subscription_create

    product = monthly_product(organization, amount=1000)
    card = attach_card(organization=organization, email="f@example.com", external_id="ext-1")
    subscription = subscription_create(organization=organization, customer=card.customer, product=product, payment_method=card)
    checkout = _checkout(api_client, product)
    return {
        "products": product.id,
        "customers": card.customer.id,
        "subscriptions": subscription.id,
        "meters": MeterFactory(organization=organization).id,
        "benefits": custom_benefit(organization).id,
        "discounts": percentage_discount(organization).id,
        "checkouts": checkout["id"],
        "orders": subscription.orders.first().id,
        "payments": card.id,
        "client_secret": checkout["client_secret"],
        "external_id": "ext-1",
    }


def _concrete(route: str, ids: dict) -> str:
    import re

    parts = route.split("/")
    resource = parts[1] if len(parts) > 1 else ""

    def value(match):
        name = match.group(2)
        if name in ids:
            return str(ids[name])
        if name == "id" and resource in ids:
            return str(ids[resource])
        return str(uuid.uuid4())

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


def test_every_post_and_patch_route_answers_4xx_to_hostile_bodies(api_client, concrete_ids):
    routes = [(route, pattern) for route, pattern in _routes() if route.startswith("v1/") and _view_methods(pattern)]
    assert len(routes) > 20
    failures = []
    for route, pattern in routes:
        url = _concrete(route, concrete_ids)
        for method in sorted(_view_methods(pattern)):
            for name, body in HOSTILE_BODIES.items():
                response = _post_raw(api_client, url, body, method)
                if response.status_code >= 500:
                    failures.append((method, url, name, response.status_code, response.content[:200]))
                elif name in ("nan", "deep") and response.status_code < 400 and "ingest" not in url:
                    # A view that reads its body can only have refused these.
                    failures.append((method, url, name, response.status_code, "accepted"))
            too_big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
            response = _post_raw(api_client, url, too_big, method)
            if response.status_code != 413:
                failures.append((method, url, "oversize", response.status_code, response.content[:200]))
    assert not failures, failures
