"""/v1/benefits/: CRUD for each supported type, bad input, tenant isolation."""

import uuid

import pytest

from billing.benefits.services import benefit_grants_create_for
from billing.catalog.services import product_benefits_set
from billing.models import Benefit, BenefitGrant
from polar.webhooks.models import WebhookEvent
from tests.factories import CustomerFactory
from tests.factories.catalog import MeterFactory, make_benefit, make_product

pytestmark = pytest.mark.django_db


def create(api_client, **body):
    body.setdefault("description", "A benefit")
    return api_client.post("/v1/benefits/", body, format="json")


def test_create_custom_benefit(api_client, organization):
    response = create(api_client, type="custom", properties={"note": "Email us"})
    assert response.status_code == 201
    body = response.json()
    assert (body["type"], body["properties"]) == ("custom", {"note": "Email us"})
    assert body["organization_id"] == str(organization.id)
    assert (body["selectable"], body["deletable"], body["is_deleted"], body["visibility_configurable"]) == (
        True,
        True,
        False,
        True,
    )
    event = WebhookEvent.objects.get(type="benefit.created")
    assert event.payload["data"]["id"] == body["id"]


def test_create_feature_flag_benefit(api_client):
    body = create(api_client, type="feature_flag", properties={}, metadata={"flag": "beta"}).json()
    assert (body["type"], body["properties"], body["metadata"]) == ("feature_flag", {}, {"flag": "beta"})


def test_create_meter_credit_benefit(api_client, organization):
    meter = MeterFactory(organization=organization)
    body = create(api_client, type="meter_credit", properties={"units": 1000, "rollover": True, "meter_id": str(meter.id)}).json()
    assert body["properties"] == {"units": 1000, "rollover": True, "meter_id": str(meter.id)}


def test_create_license_keys_benefit(api_client):
    body = create(
        api_client,
        type="license_keys",
        properties={
            "prefix": "acme",
            "expires": {"ttl": 1, "timeframe": "year"},
            "activations": {"limit": 3, "enable_customer_admin": True},
        },
    ).json()
    assert body["properties"] == {
        "prefix": "acme",
        "expires": {"ttl": 1, "timeframe": "year"},
        "activations": {"limit": 3, "enable_customer_admin": True},
        "limit_usage": None,
    }


@pytest.mark.parametrize(
    "body,loc",
    [
        ({"type": "discord", "properties": {}}, ["body", "type"]),
        ({"properties": {}}, ["body", "type"]),
        ({"type": "custom", "description": ""}, ["body", "description"]),
        (
            {"type": "meter_credit", "properties": {"units": 0, "rollover": False, "meter_id": str(uuid.uuid4())}},
            ["body", "properties", "units"],
        ),
        (
            {"type": "meter_credit", "properties": {"units": 5, "rollover": False, "meter_id": str(uuid.uuid4())}},
            ["body", "properties", "meter_id"],
        ),
        (
            {"type": "license_keys", "properties": {"expires": {"ttl": 1, "timeframe": "week"}}},
            ["body", "properties", "expires", "timeframe"],
        ),
        (
            {"type": "license_keys", "properties": {"activations": {"limit": 0, "enable_customer_admin": True}}},
            ["body", "properties", "activations", "limit"],
        ),
        ({"type": "custom", "metadata": {"nested": {"a": 1}}}, ["body", "metadata", "nested"]),
    ],
)
def test_bad_benefit_input_is_422_and_writes_nothing(api_client, body, loc):
    response = create(api_client, **body)
    assert response.status_code == 422, response.json()
    assert response.json()["detail"][0]["loc"] == loc
    assert Benefit.objects.count() == 0


def test_meter_of_another_organization_is_422(api_client, other_organization):
    foreign_meter = MeterFactory(organization=other_organization)
    response = create(
        api_client, type="meter_credit", properties={"units": 5, "rollover": False, "meter_id": str(foreign_meter.id)}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "properties", "meter_id"]
    assert Benefit.objects.count() == 0


def test_list_filters_by_type_and_is_scoped(api_client, organization, other_organization):
    make_benefit(organization=organization, description="Support")
    make_benefit(organization=organization, type="feature_flag", description="Beta")
    make_benefit(organization=other_organization, description="Theirs")
    body = api_client.get("/v1/benefits/", {"sorting": "description"}).json()
    assert [item["description"] for item in body["items"]] == ["Beta", "Support"]
    body = api_client.get("/v1/benefits/", {"type": "feature_flag"}).json()
    assert [item["description"] for item in body["items"]] == ["Beta"]


def test_update_benefit(api_client, organization):
    benefit = make_benefit(organization=organization)
    response = api_client.patch(
        f"/v1/benefits/{benefit.id}", {"description": "Better support", "properties": {"note": "24/7"}}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["description"], response.json()["properties"]) == ("Better support", {"note": "24/7"})
    assert WebhookEvent.objects.filter(type="benefit.updated").count() == 1


def test_type_cannot_change(api_client, organization):
    benefit = make_benefit(organization=organization)
    response = api_client.patch(f"/v1/benefits/{benefit.id}", {"type": "feature_flag"}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "type"]


def test_delete_detaches_and_revokes_grants(api_client, organization):
    benefit = make_benefit(organization=organization)
    product = make_product(organization=organization)
    api_client.post(f"/v1/products/{product.id}/benefits", {"benefits": [str(benefit.id)]}, format="json")
    customer = CustomerFactory(organization=organization)
    [grant] = benefit_grants_create_for(customer=customer, product=product, order_id=uuid.uuid4())

    assert api_client.delete(f"/v1/benefits/{benefit.id}").status_code == 204

    assert api_client.get(f"/v1/benefits/{benefit.id}").status_code == 404
    assert api_client.get(f"/v1/products/{product.id}").json()["benefits"] == []
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert WebhookEvent.objects.filter(type="benefit_grant.revoked").count() == 1


def test_grants_of_a_benefit_are_listed(api_client, organization):
    benefit = make_benefit(organization=organization)
    product = make_product(organization=organization)
    api_client.post(f"/v1/products/{product.id}/benefits", {"benefits": [str(benefit.id)]}, format="json")
    customer = CustomerFactory(organization=organization)
    benefit_grants_create_for(customer=customer, product=product, subscription_id=uuid.uuid4())
    body = api_client.get(f"/v1/benefits/{benefit.id}/grants").json()
    assert body["pagination"]["total_count"] == 1
    item = body["items"][0]
    assert (item["customer_id"], item["benefit_id"], item["is_granted"], item["is_revoked"]) == (
        str(customer.id),
        str(benefit.id),
        True,
        False,
    )
    assert BenefitGrant.objects.count() == 1


def test_another_organizations_benefit_is_404(api_client, other_organization):
    foreign = make_benefit(organization=other_organization)
    assert api_client.get(f"/v1/benefits/{foreign.id}").status_code == 404
    assert api_client.patch(f"/v1/benefits/{foreign.id}", {"description": "Mine"}, format="json").status_code == 404
    assert api_client.delete(f"/v1/benefits/{foreign.id}").status_code == 404
    assert api_client.get(f"/v1/benefits/{foreign.id}/grants").status_code == 404
    foreign.refresh_from_db()
    assert foreign.description == "Priority support" and foreign.deleted_at is None


def test_benefit_grants_of_the_organization_are_listed_and_filtered(api_client, organization, other_organization):
    def granted(org, external_id):
        product = make_product(organization=org)
        product_benefits_set(product=product, benefits=[make_benefit(organization=org).pk])
        customer = CustomerFactory(organization=org, external_id=external_id)
        [grant] = benefit_grants_create_for(customer=customer, product=product, subscription_id=uuid.uuid4())
        return customer, grant

    alice, _ = granted(organization, "alice")
    bob, bob_grant = granted(organization, "bob")
    granted(other_organization, "alice")
    BenefitGrant.objects.filter(pk=bob_grant.pk).update(revoked_at=bob_grant.granted_at)

    body = api_client.get("/v1/benefit-grants/").json()
    assert body["pagination"]["total_count"] == 2
    assert {item["customer_id"] for item in body["items"]} == {str(alice.id), str(bob.id)}
    assert [i["customer_id"] for i in api_client.get("/v1/benefit-grants?is_granted=true").json()["items"]] == [str(alice.id)]
    by_external = api_client.get("/v1/benefit-grants/?external_customer_id=bob").json()["items"]
    assert [(i["customer_id"], i["is_revoked"]) for i in by_external] == [(str(bob.id), True)]
    assert api_client.get(f"/v1/benefit-grants/?customer_id={alice.id}").json()["pagination"]["total_count"] == 1
    assert api_client.get(f"/v1/benefit-grants/?organization_id={other_organization.id}").json()["items"] == []
