"""``/v1/subscriptions/``: list filters, get, create, update (cancel, uncancel, revoke, change), delete,
tenant isolation and bad input."""

import uuid

import pytest

from billing.models import Order, Subscription
from billing.subscriptions import lifecycle
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card
from tests.factories.subscriptions import monthly_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscription(organization, customer, product, card):
    return lifecycle.subscription_create(organization=organization, customer=customer, product=product)


@pytest.fixture
def foreign_subscription(other_organization):
    customer = CustomerFactory(organization=other_organization)
    attach_card(customer)
    return lifecycle.subscription_create(
        organization=other_organization, customer=customer, product=monthly_product(other_organization, name="Theirs")
    )


def _loc(response):
    assert response.status_code == 422, response.content
    return [error["loc"] for error in response.json()["detail"]]


def test_list_and_filters(api_client, subscription, customer, product, foreign_subscription):
    body = api_client.get("/v1/subscriptions/").json()
    assert [item["id"] for item in body["items"]] == [str(subscription.id)]
    assert body["pagination"] == {"total_count": 1, "max_page": 1}
    assert api_client.get(f"/v1/subscriptions/?customer_id={customer.id}").json()["pagination"]["total_count"] == 1
    assert api_client.get(f"/v1/subscriptions/?product_id={product.id}").json()["pagination"]["total_count"] == 1
    assert api_client.get("/v1/subscriptions/?status=canceled").json()["pagination"]["total_count"] == 0
    assert api_client.get("/v1/subscriptions/?active=true").json()["pagination"]["total_count"] == 1
    assert api_client.get("/v1/subscriptions/?active=false").json()["pagination"]["total_count"] == 0


def test_list_by_external_customer_id(api_client, organization, subscription, customer):
    customer.external_id = "user-1"
    customer.save()
    assert api_client.get("/v1/subscriptions/?external_customer_id=user-1").json()["pagination"]["total_count"] == 1
    assert api_client.get("/v1/subscriptions/?external_customer_id=nobody").json()["pagination"]["total_count"] == 0


def test_get_answers_the_contract_shape(api_client, subscription, product):
    response = api_client.get(f"/v1/subscriptions/{subscription.id}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "active" and body["amount"] == 1000 and body["currency"] == "usd"
    assert body["product"]["id"] == str(product.id)
    assert [p["price_amount"] for p in body["prices"]] == [1000]
    assert body["pending_update"] is None and body["units"] is None and body["meters"] == []


def test_other_organizations_subscription_is_not_found(api_client, foreign_subscription):
    for method in ("get", "patch", "delete"):
        response = getattr(api_client, method)(
            f"/v1/subscriptions/{foreign_subscription.id}", {"cancel_at_period_end": True}, format="json"
        )
        assert response.status_code == 404, (method, response.content)
    assert Subscription.objects.get(pk=foreign_subscription.pk).cancel_at_period_end is False


def test_create_with_customer_and_card_answers_201_active(api_client, organization, customer, product, card):
    response = api_client.post(
        "/v1/subscriptions/", {"customer_id": str(customer.id), "product_id": str(product.id)}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "active"
    assert Order.objects.get().status == "paid"


def test_create_by_external_customer_id(api_client, organization, customer, product, card):
    customer.external_id = "ext-1"
    customer.save()
    response = api_client.post(
        "/v1/subscriptions/", {"external_customer_id": "ext-1", "product_id": str(product.id)}, format="json"
    )
    assert response.status_code == 201, response.content


def test_create_with_declining_card_answers_402_and_nothing_active(api_client, customer, product, declining_card):
    response = api_client.post(
        "/v1/subscriptions/",
        {"customer_id": str(customer.id), "product_id": str(product.id), "payment_method_id": str(declining_card.id)},
        format="json",
    )
    assert response.status_code == 402, response.content
    assert response.json()["error"] == "PaymentFailed"
    assert not Subscription.objects.filter(status="active").exists()
    assert not Order.objects.filter(status="paid").exists()


def test_create_with_foreign_ids_is_422_and_writes_nothing(api_client, organization, other_organization, customer, product, card):
    foreign_product = monthly_product(other_organization, name="Theirs")
    foreign_customer = CustomerFactory(organization=other_organization)
    foreign_card = attach_card(foreign_customer)
    cases = [
        ({"customer_id": str(foreign_customer.id), "product_id": str(product.id)}, ["body", "customer_id"]),
        ({"customer_id": str(customer.id), "product_id": str(foreign_product.id)}, ["body", "product_id"]),
        (
            {"customer_id": str(customer.id), "product_id": str(product.id), "payment_method_id": str(foreign_card.id)},
            ["body", "payment_method_id"],
        ),
        ({"customer_id": str(customer.id), "product_id": str(uuid.uuid4())}, ["body", "product_id"]),
        ({"product_id": str(product.id)}, ["body", "customer_id"]),
        ({"customer_id": str(customer.id), "product_id": str(product.id), "seats": 0}, ["body", "seats"]),
    ]
    for body, loc in cases:
        assert loc in _loc(api_client.post("/v1/subscriptions/", body, format="json")), body
    assert not Subscription.objects.filter(organization=organization).exists()


def test_patch_cancel_and_uncancel(api_client, subscription):
    response = api_client.patch(
        f"/v1/subscriptions/{subscription.id}",
        {"cancel_at_period_end": True, "customer_cancellation_reason": "too_expensive", "customer_cancellation_comment": "meh"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["cancel_at_period_end"] is True and body["customer_cancellation_reason"] == "too_expensive"
    assert (
        api_client.patch(f"/v1/subscriptions/{subscription.id}", {"cancel_at_period_end": True}, format="json").status_code == 403
    )
    response = api_client.patch(f"/v1/subscriptions/{subscription.id}", {"cancel_at_period_end": False}, format="json")
    assert response.status_code == 200 and response.json()["cancel_at_period_end"] is False


def test_patch_revoke_then_revoke_again_is_403(api_client, subscription):
    response = api_client.patch(f"/v1/subscriptions/{subscription.id}", {"revoke": True}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    response = api_client.delete(f"/v1/subscriptions/{subscription.id}")
    assert response.status_code == 403 and response.json()["error"] == "AlreadyCanceledSubscription"


def test_delete_revokes_and_answers_the_subscription(api_client, subscription):
    response = api_client.delete(f"/v1/subscriptions/{subscription.id}")
    assert response.status_code == 200
    assert response.json()["status"] == "canceled" and response.json()["ended_at"] is not None


def test_patch_product_with_next_period_then_another_change_is_409(api_client, subscription, premium):
    response = api_client.patch(
        f"/v1/subscriptions/{subscription.id}",
        {"product_id": str(premium.id), "proration_behavior": "next_period"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["pending_update"]["product_id"] == str(premium.id)
    response = api_client.patch(
        f"/v1/subscriptions/{subscription.id}", {"product_id": str(premium.id), "proration_behavior": "invoice"}, format="json"
    )
    assert response.status_code == 409 and response.json()["error"] == "SubscriptionLocked"


def test_patch_with_two_kinds_of_change_is_422(api_client, subscription, premium):
    response = api_client.patch(
        f"/v1/subscriptions/{subscription.id}", {"cancel_at_period_end": True, "product_id": str(premium.id)}, format="json"
    )
    assert response.status_code == 422
    assert Subscription.objects.get(pk=subscription.pk).cancel_at_period_end is False


def test_patch_discount_that_does_not_apply_is_422(api_client, organization, subscription, premium):
    from tests.factories.subscriptions import percentage_discount

    discount = percentage_discount(organization, products=[premium.id])
    assert ["body", "discount_id"] in _loc(
        api_client.patch(f"/v1/subscriptions/{subscription.id}", {"discount_id": str(discount.id)}, format="json")
    )
    assert Subscription.objects.get(pk=subscription.pk).discount_id is None


def test_patch_without_proration_behavior_uses_the_organizations_default(api_client, organization, subscription, premium):
    organization.proration_behavior = "next_period"
    organization.save()
    response = api_client.patch(f"/v1/subscriptions/{subscription.id}", {"product_id": str(premium.id)}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["pending_update"]["product_id"] == str(premium.id)
    assert response.json()["product_id"] == str(subscription.product_id)


def test_listing_subscriptions_does_not_query_per_subscription(api_client, organization, django_assert_max_num_queries):
    from billing.subscriptions.lifecycle import subscription_create
    from tests.factories.payments import attach_card
    from tests.factories.subscriptions import monthly_product

    product = monthly_product(organization, name="Listed", amount=700)
    for index in range(6):
        card = attach_card(organization=organization, email=f"list{index}@example.com")
        subscription_create(organization=organization, customer=card.customer, product=product, payment_method=card)
    api_client.get("/v1/subscriptions/")  # warm the token's last-use stamp
    with django_assert_max_num_queries(20):
        body = api_client.get("/v1/subscriptions/", {"limit": 100}).json()
    assert body["pagination"]["total_count"] == 6
