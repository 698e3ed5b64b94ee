"""customer_portal benefit grants, license keys, customer meters, downloadables and the organization."""

import uuid

import pytest

from billing.benefits.services import benefit_grants_create_for
from billing.catalog.services import product_benefits_set
from billing.models import BenefitGrant, LicenseKey
from tests.factories.catalog import make_benefit, make_license_keys_benefit, make_product

pytestmark = pytest.mark.django_db


def grant(customer, benefit):
    product = make_product(organization=customer.organization, recurring_interval="month")
    product_benefits_set(product=product, benefits=[benefit.pk])
    benefit_grants_create_for(customer=customer, product=product, subscription_id=uuid.uuid4())


def test_benefit_grants_are_the_customers_own(portal, organization, customer, other_customer):
    benefit = make_benefit(organization=organization, description="Priority support")
    grant(customer, benefit)
    grant(other_customer, benefit)
    body = portal.get("/v1/customer-portal/benefit-grants/").json()
    assert len(body["items"]) == 1
    item = body["items"][0]
    assert (item["customer_id"], item["benefit"]["description"], item["is_granted"]) == (
        str(customer.id),
        "Priority support",
        True,
    )
    assert item["benefit"]["organization"]["slug"] == "acme" and "metadata" not in item["benefit"]
    assert portal.get(f"/v1/customer-portal/benefit-grants/{item['id']}").status_code == 200
    foreign = BenefitGrant.objects.get(customer=other_customer)
    assert portal.get(f"/v1/customer-portal/benefit-grants/{foreign.id}").status_code == 404


def test_license_keys_list_get_rotate(portal, organization, customer, other_customer):
    benefit = make_license_keys_benefit(organization=organization)
    grant(customer, benefit)
    grant(other_customer, benefit)
    own = LicenseKey.objects.get(customer=customer)
    foreign = LicenseKey.objects.get(customer=other_customer)
    body = portal.get("/v1/customer-portal/license-keys/").json()
    assert [item["id"] for item in body["items"]] == [str(own.id)]
    assert portal.get(f"/v1/customer-portal/license-keys/{own.id}").json()["activations"] == []
    assert portal.get(f"/v1/customer-portal/license-keys/{foreign.id}").status_code == 404
    rotated = portal.post(f"/v1/customer-portal/license-keys/{own.id}/rotate").json()
    assert rotated["key"] != own.key
    assert portal.post(f"/v1/customer-portal/license-keys/{foreign.id}/rotate").status_code == 404
    assert LicenseKey.objects.get(pk=foreign.pk).key == foreign.key


def test_meters_downloadables_and_organization(portal, anonymous_client, organization):
    assert portal.get("/v1/customer-portal/meters/").json()["items"] == []
    assert portal.get(f"/v1/customer-portal/meters/{uuid.uuid4()}").status_code == 404
    assert portal.get("/v1/customer-portal/downloadables/").json() == {
        "items": [],
        "pagination": {"total_count": 0, "max_page": 0},
    }
    make_product(organization=organization, name="Visible", recurring_interval="month")
    body = anonymous_client.get("/v1/customer-portal/organizations/acme").json()
    assert body["organization"]["slug"] == "acme"
    assert [product["name"] for product in body["products"]] == ["Visible"]
    assert anonymous_client.get("/v1/customer-portal/organizations/nope").status_code == 404
