"""The customer-portal license-key actions are public, as on Polar: no credential, a customer session, or an
organization token; the key is looked up in the named organization only."""

import uuid

import pytest

from billing.benefits.services import benefit_grants_create_for
from billing.catalog.services import product_benefits_set
from billing.models import LicenseKey, LicenseKeyActivation
from tests.factories.catalog import make_license_keys_benefit, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(organization, customer):
    benefit = make_license_keys_benefit(organization=organization, limit=2)
    product = make_product(organization=organization, recurring_interval="month")
    product_benefits_set(product=product, benefits=[benefit.pk])
    benefit_grants_create_for(customer=customer, product=product, subscription_id=uuid.uuid4())
    return LicenseKey.objects.get(customer=customer)


def body(key, **extra):
    return {"key": key.key, "organization_id": str(key.organization_id), **extra}


def test_validate_without_credentials(anonymous_client, key):
    response = anonymous_client.post("/v1/customer-portal/license-keys/validate", body(key), format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["id"] == str(key.id)


def test_activate_and_deactivate_with_a_customer_session(portal, key):
    activation = portal.post("/v1/customer-portal/license-keys/activate", body(key, label="laptop"), format="json")
    assert activation.status_code == 200, activation.json()
    activation_id = activation.json()["id"]
    response = portal.post("/v1/customer-portal/license-keys/deactivate", body(key, activation_id=activation_id), format="json")
    assert response.status_code == 204
    assert not LicenseKeyActivation.objects.filter(license_key=key).exists()


def test_another_organization_named_is_404(portal, anonymous_client, key, other_organization):
    wrong = {"key": key.key, "organization_id": str(other_organization.id)}
    assert portal.post("/v1/customer-portal/license-keys/validate", wrong, format="json").status_code == 404
    assert anonymous_client.post("/v1/customer-portal/license-keys/validate", wrong, format="json").status_code == 404
    unknown = {"key": key.key, "organization_id": str(uuid.uuid4())}
    assert anonymous_client.post("/v1/customer-portal/license-keys/validate", unknown, format="json").status_code == 404


def test_organization_token_still_needs_a_license_keys_scope(organization, key):
    from polar.organizations.services import access_token_create
    from tests.billing.portal.conftest import portal_client

    _row, raw = access_token_create(organization=organization, scopes=["products:read"])
    response = portal_client(raw).post("/v1/customer-portal/license-keys/validate", body(key), format="json")
    assert response.status_code == 403
    assert (
        portal_client("polar_oat_wrong").post("/v1/customer-portal/license-keys/validate", body(key), format="json").status_code
        == 401
    )
