"""customer_portal.subscriptions: list/get scoped to the session's customer, plan and seat changes,
cancel and uncancel through the subscription services."""

import pytest

from billing.models import Subscription
from tests.billing.portal.conftest import subscribe
from tests.factories.subscriptions import monthly_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(organization):
    return monthly_product(organization, name="Pro", amount=1000)


@pytest.fixture
def subscription(customer, product):
    return subscribe(customer, product)


def test_list_and_get_only_the_customers_own(portal, subscription, other_customer, product):
    foreign = subscribe(other_customer, product)
    body = portal.get("/v1/customer-portal/subscriptions/").json()
    assert [item["id"] for item in body["items"]] == [str(subscription.id)]
    item = body["items"][0]
    assert (item["status"], item["amount"], item["product"]["name"]) == ("active", 1000, "Pro")
    assert item["product"]["organization"]["slug"] == "acme"
    assert "customer" not in item and "metadata" not in item
    assert portal.get(f"/v1/customer-portal/subscriptions/{subscription.id}").status_code == 200
    assert portal.get(f"/v1/customer-portal/subscriptions/{foreign.id}").status_code == 404
    assert portal.delete(f"/v1/customer-portal/subscriptions/{foreign.id}").status_code == 404
    foreign.refresh_from_db()
    assert foreign.cancel_at_period_end is False


def test_list_filters_active_and_sorts_as_the_sdk_asks(portal, subscription):
    assert portal.get("/v1/customer-portal/subscriptions/?active=false").json()["items"] == []
    assert len(portal.get("/v1/customer-portal/subscriptions/?active=true&sorting=-started_at").json()["items"]) == 1


def test_cancel_then_uncancel(portal, subscription):
    response = portal.delete(f"/v1/customer-portal/subscriptions/{subscription.id}")
    assert response.status_code == 200
    assert response.json()["cancel_at_period_end"] is True
    response = portal.patch(
        f"/v1/customer-portal/subscriptions/{subscription.id}", {"cancel_at_period_end": False}, format="json"
    )
    assert response.json()["cancel_at_period_end"] is False
    response = portal.patch(
        f"/v1/customer-portal/subscriptions/{subscription.id}",
        {"cancel_at_period_end": True, "cancellation_reason": "too_expensive", "cancellation_comment": "pricey"},
        format="json",
    )
    assert (response.json()["customer_cancellation_reason"], response.json()["ends_at"]) == (
        "too_expensive",
        response.json()["current_period_end"],
    )


def test_change_plan(portal, organization, subscription):
    premium = monthly_product(organization, name="Premium", amount=3000)
    response = portal.patch(
        f"/v1/customer-portal/subscriptions/{subscription.id}", {"product_id": str(premium.id)}, format="json"
    )
    assert response.status_code == 200, response.json()
    subscription.refresh_from_db()
    assert subscription.product_id == premium.id


def test_change_plan_to_another_organizations_product_is_422(portal, other_organization, subscription):
    foreign = monthly_product(other_organization, name="Theirs", amount=10)
    response = portal.patch(
        f"/v1/customer-portal/subscriptions/{subscription.id}", {"product_id": str(foreign.id)}, format="json"
    )
    assert response.status_code == 422
    assert Subscription.objects.get(pk=subscription.pk).product_id == subscription.product_id


def test_change_plan_refused_when_the_organization_forbids_it(portal, organization, subscription):
    organization.allow_customer_updates = False
    organization.save(update_fields=["allow_customer_updates"])
    premium = monthly_product(organization, name="Premium", amount=3000)
    response = portal.patch(
        f"/v1/customer-portal/subscriptions/{subscription.id}", {"product_id": str(premium.id)}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"] == "UpdateSubscriptionPlanNotAllowed"


def test_update_needs_exactly_one_change(portal, subscription):
    response = portal.patch(f"/v1/customer-portal/subscriptions/{subscription.id}", {}, format="json")
    assert response.status_code == 422
