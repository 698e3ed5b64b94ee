"""Checkout links: CRUD through the API (tenant isolation, 422s, Idempotency-Key) and the public redirect
that opens a fresh checkout on the hosted page."""

import uuid

import pytest

from billing.models import Checkout, CheckoutLink
from tests.factories.subscriptions import monthly_product, one_time_product, percentage_discount, seat_product

pytestmark = pytest.mark.django_db


def _create(api_client, **body):
    body.setdefault("payment_processor", "stripe")
    response = api_client.post("/v1/checkout-links/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _locs(response):
    assert response.status_code == 422, response.content
    return [error["loc"] for error in response.json()["detail"]]


def test_create_answers_polar_shape_with_url(api_client, organization):
    plan = monthly_product(organization, name="Pro")
    book = one_time_product(organization, name="E-book")
    discount = percentage_discount(organization, basis_points=2000)
    body = _create(
        api_client,
        products=[str(book.id), str(plan.id)],
        label="Newsletter",
        discount_id=str(discount.id),
        success_url="https://shop.example/thanks?checkout_id={CHECKOUT_ID}",
        metadata={"campaign": "winter"},
    )
    link = CheckoutLink.objects.get()
    assert body["client_secret"] == link.client_secret and link.client_secret.startswith("polar_cl_")
    assert body["url"].endswith(f"/v1/checkout-links/{link.client_secret}/redirect")
    assert [p["name"] for p in body["products"]] == ["E-book", "Pro"]
    assert body["products"][1]["prices"][0]["price_amount"] == 1000
    assert (body["label"], body["discount_id"], body["discount"]["id"]) == ("Newsletter", str(discount.id), str(discount.id))
    assert (body["allow_discount_codes"], body["require_billing_address"], body["payment_processor"]) == (True, False, "stripe")
    assert body["metadata"] == {"campaign": "winter"} and body["organization_id"] == str(organization.id)


def test_deprecated_single_product_and_price_forms(api_client, organization):
    plan = monthly_product(organization)
    by_product = _create(api_client, product_id=str(plan.id))
    by_price = _create(api_client, product_price_id=str(plan.all_prices.get().id))
    assert [p["id"] for p in by_product["products"]] == [str(plan.id)]
    assert [p["id"] for p in by_price["products"]] == [str(plan.id)]


def test_create_refuses_bad_input_and_writes_nothing(api_client, organization, other_organization):
    plan = monthly_product(organization)
    foreign = monthly_product(other_organization)
    archived = one_time_product(organization, name="Old")
    archived.is_archived = True
    archived.save()
    post = lambda **body: api_client.post("/v1/checkout-links/", {"payment_processor": "stripe", **body}, format="json")  # noqa: E731
    assert _locs(post(products=[str(plan.id), str(foreign.id)])) == [["body", "products", 1]]
    assert _locs(post(products=[str(archived.id)])) == [["body", "products", 0]]
    assert _locs(post(products=[str(plan.id)], discount_id=str(uuid.uuid4()))) == [["body", "discount_id"]]
    assert _locs(post(products=[str(plan.id)], seats=3)) == [["body", "seats"]]
    assert _locs(post(products=[str(plan.id)], units=3)) == [["body", "units"]]
    assert _locs(post(products=[str(plan.id)], payment_processor="paypal")) == [["body", "payment_processor"]]
    assert _locs(post(products=[str(plan.id)], product_id=str(plan.id))) == [["body", "products"]]
    assert _locs(post(product_price_id=str(foreign.all_prices.get().id))) == [["body", "product_price_id"]]
    assert CheckoutLink.objects.count() == 0


def test_seat_lock_is_validated_against_the_tiers(api_client, organization):
    team = seat_product(organization, min_seats=2, max_seats=10)
    assert _create(api_client, products=[str(team.id)], seats=5)["seats"] == 5
    response = api_client.post(
        "/v1/checkout-links/", {"payment_processor": "stripe", "products": [str(team.id)], "seats": 11}, format="json"
    )
    assert _locs(response) == [["body", "seats"]]


def test_get_list_update_delete_and_tenant_isolation(api_client, other_api_client, organization):
    plan = monthly_product(organization, name="Pro")
    book = one_time_product(organization, name="E-book")
    first = _create(api_client, products=[str(plan.id)], label="a", trial_interval="week", trial_interval_count=1)
    second = _create(api_client, products=[str(book.id)], label="b")

    assert api_client.get(f"/v1/checkout-links/{first['id']}").json()["label"] == "a"
    page = api_client.get("/v1/checkout-links/", {"sorting": "-label"}).json()
    assert [item["label"] for item in page["items"]] == ["b", "a"] and page["pagination"]["total_count"] == 2
    assert [i["id"] for i in api_client.get("/v1/checkout-links/", {"product_id": str(book.id)}).json()["items"]] == [
        second["id"]
    ]

    updated = api_client.patch(f"/v1/checkout-links/{first['id']}", {"products": [str(book.id)], "label": "c"}, format="json")
    assert updated.status_code == 200, updated.content
    body = updated.json()
    # One-time products only: the trial goes, as on Polar.
    assert (body["label"], [p["id"] for p in body["products"]], body["trial_interval"]) == ("c", [str(book.id)], None)

    for method in ("get", "patch", "delete"):
        assert getattr(other_api_client, method)(f"/v1/checkout-links/{first['id']}", {}, format="json").status_code == 404
    assert other_api_client.get("/v1/checkout-links/").json()["pagination"]["total_count"] == 0

    assert api_client.delete(f"/v1/checkout-links/{first['id']}").status_code == 204
    assert api_client.get(f"/v1/checkout-links/{first['id']}").status_code == 404
    assert api_client.delete(f"/v1/checkout-links/{first['id']}").status_code == 404
    assert api_client.get("/v1/checkout-links/").json()["pagination"]["total_count"] == 1


def test_update_refuses_foreign_products(api_client, organization, other_organization):
    plan = monthly_product(organization)
    link = _create(api_client, products=[str(plan.id)])
    foreign = monthly_product(other_organization)
    response = api_client.patch(f"/v1/checkout-links/{link['id']}", {"products": [str(foreign.id)]}, format="json")
    assert _locs(response) == [["body", "products", 0]]
    assert [p["id"] for p in api_client.get(f"/v1/checkout-links/{link['id']}").json()["products"]] == [str(plan.id)]


def test_create_replays_with_idempotency_key(api_client, organization):
    plan = monthly_product(organization)
    body = {"payment_processor": "stripe", "products": [str(plan.id)]}
    first = api_client.post("/v1/checkout-links/", body, format="json", HTTP_IDEMPOTENCY_KEY="link-1")
    again = api_client.post("/v1/checkout-links/", body, format="json", HTTP_IDEMPOTENCY_KEY="link-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and CheckoutLink.objects.count() == 1


def test_redirect_opens_a_new_checkout_each_visit(api_client, anonymous_client, organization):
    plan = monthly_product(organization, name="Pro")
    book = one_time_product(organization, name="E-book")
    discount = percentage_discount(organization, basis_points=2000)
    link = _create(
        api_client,
        products=[str(plan.id), str(book.id)],
        discount_id=str(discount.id),
        success_url="https://shop.example/thanks?checkout_id={CHECKOUT_ID}",
        metadata={"campaign": "winter"},
    )
    path = f"/v1/checkout-links/{link['client_secret']}/redirect"
    response = anonymous_client.get(
        path, {"product_id": str(book.id), "customer_email": "buyer@example.com", "utm_source": "news", "theme": "dark"}
    )
    assert response.status_code == 302
    checkout = Checkout.objects.get()
    assert response["Location"].endswith(f"/checkout/{checkout.client_secret}?theme=dark")
    assert (checkout.product_id, checkout.customer_email, checkout.discount_id) == (book.id, "buyer@example.com", discount.id)
    assert checkout.total_amount == 2000  # 2500 less 20 %
    assert checkout.metadata == {"campaign": "winter", "utm_source": "news"}
    assert checkout.success_url == f"https://shop.example/thanks?checkout_id={checkout.id}"
    assert [p.product_id for p in checkout.checkout_products.order_by("order")] == [book.id, plan.id]

    assert anonymous_client.get(path).status_code == 302
    assert Checkout.objects.count() == 2
    # The hosted page answers for the new session.
    assert anonymous_client.get(response["Location"].split("?")[0].split("127.0.0.1:8000")[-1]).status_code == 200


def test_redirect_of_unknown_or_deleted_link_is_404(api_client, anonymous_client, organization):
    plan = monthly_product(organization)
    link = _create(api_client, products=[str(plan.id)])
    assert anonymous_client.get("/v1/checkout-links/polar_cl_nope/redirect").status_code == 404
    api_client.delete(f"/v1/checkout-links/{link['id']}")
    assert anonymous_client.get(f"/v1/checkout-links/{link['client_secret']}/redirect").status_code == 404
    assert Checkout.objects.count() == 0


def test_redirect_ignores_a_discount_that_no_longer_applies(api_client, anonymous_client, organization):
    plan = monthly_product(organization)
    discount = percentage_discount(organization, basis_points=2000, max_redemptions=1)
    link = _create(api_client, products=[str(plan.id)], discount_id=str(discount.id))
    discount.redemptions_count = 1
    discount.save()
    assert anonymous_client.get(f"/v1/checkout-links/{link['client_secret']}/redirect").status_code == 302
    checkout = Checkout.objects.get()
    assert checkout.discount_id is None and checkout.total_amount == 1000


def test_scopes(organization):
    from rest_framework.test import APIClient

    from polar.organizations.services import access_token_create

    _row, raw = access_token_create(organization=organization, comment="read only", scopes=["checkout_links:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/v1/checkout-links/").status_code == 200
    assert client.post("/v1/checkout-links/", {}, format="json").status_code == 403
