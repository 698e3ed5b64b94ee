"""PATCH /v1/checkouts/{id} (merchant) and GET/PATCH /v1/checkouts/client/{client_secret} (buyer):
product, discount and customer details change on an open checkout, the preview follows; expired,
confirmed and foreign checkouts are refused."""

import datetime as dt

import pytest

from billing.models import Checkout
from polar.webhooks.models import WebhookEvent
from tests.factories.subscriptions import percentage_discount

pytestmark = pytest.mark.django_db


def _create(client, *products, **body):
    response = client.post("/v1/checkouts/", {"products": [str(p.id) for p in products], **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_merchant_update_changes_product_discount_and_fields(api_client, other_api_client, organization, product, premium):
    checkout = _create(api_client, product, premium)
    discount = percentage_discount(organization, basis_points=1000)
    response = api_client.patch(
        f"/v1/checkouts/{checkout['id']}",
        {
            "product_id": str(premium.id),
            "discount_id": str(discount.id),
            "customer_email": "ann@example.com",
            "metadata": {"ref": "x"},
            "success_url": "https://shop.example/ok",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["product_id"], body["amount"], body["discount_amount"], body["total_amount"]) == (
        str(premium.id),
        3000,
        300,
        2700,
    )
    assert (body["customer_email"], body["metadata"], body["success_url"]) == (
        "ann@example.com",
        {"ref": "x"},
        "https://shop.example/ok",
    )
    assert WebhookEvent.objects.filter(type="checkout.updated").count() == 1
    cleared = api_client.patch(f"/v1/checkouts/{checkout['id']}", {"discount_id": None}, format="json").json()
    assert cleared["discount_id"] is None and cleared["total_amount"] == 3000

    outsider = _create(api_client, product)
    bad = api_client.patch(
        f"/v1/checkouts/{outsider['id']}", {"product_id": str(premium.id), "customer_email": "x"}, format="json"
    )
    assert bad.status_code == 422
    assert sorted(d["loc"][-1] for d in bad.json()["detail"]) == ["customer_email"]
    bad = api_client.patch(f"/v1/checkouts/{outsider['id']}", {"product_id": str(premium.id)}, format="json")
    assert [d["loc"] for d in bad.json()["detail"]] == [["body", "product_id"]]
    assert other_api_client.patch(f"/v1/checkouts/{checkout['id']}", {"customer_name": "X"}, format="json").status_code == 404

    Checkout.objects.filter(pk=checkout["id"]).update(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    expired = api_client.patch(f"/v1/checkouts/{checkout['id']}", {"customer_name": "X"}, format="json")
    assert expired.status_code == 403 and expired.json()["error"] == "NotOpenCheckout"


def test_client_get_and_update_by_client_secret(api_client, anonymous_client, organization, product, premium):
    checkout = _create(api_client, product, premium, allow_discount_codes=True)
    percentage_discount(organization, basis_points=5000, code="HALF")
    path = f"/v1/checkouts/client/{checkout['client_secret']}"
    public = anonymous_client.get(path)
    assert public.status_code == 200
    body = public.json()
    assert body["id"] == checkout["id"] and body["organization"]["id"] == str(organization.id)
    assert "metadata" not in body and body["total_amount"] == 1000

    updated = anonymous_client.patch(
        path, {"product_id": str(premium.id), "discount_code": "half", "customer_name": "Ann"}, format="json"
    )
    assert updated.status_code == 200, updated.content
    body = updated.json()
    assert (body["product_id"], body["total_amount"], body["customer_name"]) == (str(premium.id), 1500, "Ann")
    assert anonymous_client.patch(path, {"discount_code": "nope"}, format="json").status_code == 422
    # The buyer cannot touch merchant-only fields: they are ignored.
    anonymous_client.patch(path, {"metadata": {"a": "b"}, "success_url": "https://evil.example"}, format="json")
    stored = Checkout.objects.get(pk=checkout["id"])
    assert stored.metadata == {} and stored.success_url is None
    assert anonymous_client.get("/v1/checkouts/client/not-a-secret").status_code == 404

    Checkout.objects.filter(pk=checkout["id"]).update(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    gone = anonymous_client.get(path)
    assert gone.status_code == 410 and gone.json()["error"] == "ExpiredCheckoutError"
    assert anonymous_client.patch(path, {"customer_name": "B"}, format="json").status_code == 410


def test_success_url_checkout_id_placeholder_is_substituted(api_client, anonymous_client, product):
    body = _create(api_client, product, success_url="https://shop.example/thanks?checkout_id={CHECKOUT_ID}")
    expected = f"https://shop.example/thanks?checkout_id={body['id']}"
    assert body["success_url"] == expected
    assert Checkout.objects.get(pk=body["id"]).success_url == expected  # the hosted page redirects to it
    assert WebhookEvent.objects.get(type="checkout.created").payload["data"]["success_url"] == expected
    updated = api_client.patch(
        f"/v1/checkouts/{body['id']}", {"success_url": "https://shop.example/done/{CHECKOUT_ID}"}, format="json"
    ).json()
    assert updated["success_url"] == f"https://shop.example/done/{body['id']}"
    public = anonymous_client.get(f"/v1/checkouts/client/{body['client_secret']}").json()
    assert public["success_url"] == f"https://shop.example/done/{body['id']}"
