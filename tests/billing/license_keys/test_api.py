"""License keys: listing, and the customer-portal validate/activate/deactivate endpoints."""

import datetime as dt
import uuid

import pytest

from billing.benefits.services import benefit_grants_create_for, benefit_grants_revoke_for
from billing.catalog.services import product_benefits_set
from billing.models import LicenseKey, LicenseKeyActivation
from polar import clock
from tests.factories import CustomerFactory
from tests.factories.catalog import make_license_keys_benefit, make_product

pytestmark = pytest.mark.django_db


def grant_key(organization, **benefit_kwargs) -> tuple[LicenseKey, uuid.UUID]:
    benefit = make_license_keys_benefit(organization=organization, **benefit_kwargs)
    product = make_product(organization=organization, recurring_interval="month")
    product_benefits_set(product=product, benefits=[benefit.pk])
    customer = CustomerFactory(organization=organization)
    subscription_id = uuid.uuid4()
    benefit_grants_create_for(customer=customer, product=product, subscription_id=subscription_id)
    return LicenseKey.objects.get(customer=customer), subscription_id


def post(client, action, organization, **body):
    return client.post(
        f"/v1/customer-portal/license-keys/{action}", {"organization_id": str(organization.id), **body}, format="json"
    )


def test_list_license_keys(api_client, organization, other_organization):
    key, _ = grant_key(organization)
    grant_key(other_organization)
    body = api_client.get("/v1/license-keys/").json()
    assert [item["id"] for item in body["items"]] == [str(key.id)]
    item = body["items"][0]
    assert item["key"].startswith("ACME-")
    assert item["display_key"] == "****-" + key.key[-6:]
    assert (item["status"], item["limit_activations"], item["usage"], item["validations"]) == ("granted", 2, 0, 0)
    assert item["customer"]["id"] == str(key.customer_id)


def test_get_license_key_with_activations(api_client, organization, other_organization):
    key, _ = grant_key(organization)
    post(api_client, "activate", organization, key=key.key, label="laptop")
    body = api_client.get(f"/v1/license-keys/{key.id}").json()
    assert [activation["label"] for activation in body["activations"]] == ["laptop"]
    foreign, _ = grant_key(other_organization)
    assert api_client.get(f"/v1/license-keys/{foreign.id}").status_code == 404


def test_validate_counts_validations_and_usage(api_client, organization):
    key, _ = grant_key(organization, limit_usage=5)
    response = post(api_client, "validate", organization, key=key.key, increment_usage=2)
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["usage"], body["validations"], body["activation"]) == ("granted", 2, 1, None)
    assert body["last_validated_at"] is not None


def test_validate_refuses_usage_over_the_limit_and_counts_nothing(api_client, organization):
    key, _ = grant_key(organization, limit_usage=5)
    post(api_client, "validate", organization, key=key.key, increment_usage=4)
    response = post(api_client, "validate", organization, key=key.key, increment_usage=2)
    assert response.status_code == 400
    key.refresh_from_db()
    assert (key.usage, key.validations) == (4, 1)


def test_validate_unknown_key_is_404(api_client, organization):
    response = post(api_client, "validate", organization, key="NOPE")
    assert response.status_code == 404
    assert response.json()["error"] == "ResourceNotFound"


def test_validate_expired_key_is_404(api_client, organization):
    key, _ = grant_key(organization, expires={"ttl": 1, "timeframe": "day"})
    with clock.freeze(clock.now() + dt.timedelta(days=2)):
        response = post(api_client, "validate", organization, key=key.key)
    assert response.status_code == 404
    assert response.json()["detail"] == "License key has expired."


def test_validate_revoked_key_is_404(api_client, organization):
    key, subscription_id = grant_key(organization)
    benefit_grants_revoke_for(customer=key.customer, subscription_id=subscription_id)
    assert post(api_client, "validate", organization, key=key.key).status_code == 404


def test_another_organizations_key_is_404(api_client, organization, other_organization):
    foreign, _ = grant_key(other_organization)
    assert post(api_client, "validate", organization, key=foreign.key).status_code == 404
    # Naming the other organization does not help: the token's organization is the only one searched.
    assert post(api_client, "validate", other_organization, key=foreign.key).status_code == 404
    foreign.refresh_from_db()
    assert foreign.validations == 0


def test_activate_up_to_the_limit(api_client, organization):
    key, _ = grant_key(organization, limit=2)
    first = post(api_client, "activate", organization, key=key.key, label="laptop", meta={"os": "linux"})
    assert first.status_code == 200
    assert (first.json()["label"], first.json()["meta"], first.json()["license_key"]["id"]) == (
        "laptop",
        {"os": "linux"},
        str(key.id),
    )
    assert post(api_client, "activate", organization, key=key.key, label="desktop").status_code == 200
    third = post(api_client, "activate", organization, key=key.key, label="phone")
    assert third.status_code == 403
    assert LicenseKeyActivation.objects.filter(license_key=key).count() == 2


def test_activation_needs_activations_enabled(api_client, organization):
    key, _ = grant_key(organization, limit=None)
    assert post(api_client, "activate", organization, key=key.key, label="laptop").status_code == 403


def test_deactivate_frees_a_slot(api_client, organization):
    key, _ = grant_key(organization, limit=1)
    activation_id = post(api_client, "activate", organization, key=key.key, label="laptop").json()["id"]
    assert post(api_client, "deactivate", organization, key=key.key, activation_id=activation_id).status_code == 204
    assert post(api_client, "deactivate", organization, key=key.key, activation_id=activation_id).status_code == 404
    assert post(api_client, "activate", organization, key=key.key, label="desktop").status_code == 200


def test_validate_with_activation_checks_conditions(api_client, organization):
    key, _ = grant_key(organization)
    activation_id = post(api_client, "activate", organization, key=key.key, label="laptop", conditions={"machine": "m1"}).json()[
        "id"
    ]
    ok = post(api_client, "validate", organization, key=key.key, activation_id=activation_id, conditions={"machine": "m1"})
    assert ok.status_code == 200
    assert ok.json()["activation"]["id"] == activation_id
    wrong = post(api_client, "validate", organization, key=key.key, activation_id=activation_id, conditions={"machine": "m2"})
    assert wrong.status_code == 400


@pytest.mark.parametrize(
    "action,body,loc",
    [
        ("validate", {"key": "K", "increment_usage": 0}, ["body", "increment_usage"]),
        ("validate", {}, ["body", "key"]),
        ("activate", {"key": "K"}, ["body", "label"]),
        ("deactivate", {"key": "K", "activation_id": "nope"}, ["body", "activation_id"]),
    ],
)
def test_bad_portal_input_is_422(api_client, organization, action, body, loc):
    response = post(api_client, action, organization, **body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_organization_level_validate_path_works_too(api_client, organization):
    key, _ = grant_key(organization)
    response = api_client.post(
        "/v1/license-keys/validate", {"key": key.key, "organization_id": str(organization.id)}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["validations"] == 1


def test_update_license_key(api_client, organization):
    key, _ = grant_key(organization, limit_usage=10)
    response = api_client.patch(
        f"/v1/license-keys/{key.id}", {"status": "disabled", "limit_activations": 5, "usage": 3}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["limit_activations"], response.json()["usage"]) == ("disabled", 5, 3)
    assert post(api_client, "validate", organization, key=key.key).status_code == 404


def test_update_usage_over_the_limit_is_422(api_client, organization):
    key, _ = grant_key(organization, limit_usage=10)
    response = api_client.patch(f"/v1/license-keys/{key.id}", {"usage": 11}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "usage"]
    key.refresh_from_db()
    assert key.usage == 0


def test_get_activation(api_client, organization, other_organization):
    key, _ = grant_key(organization)
    activation_id = post(api_client, "activate", organization, key=key.key, label="laptop").json()["id"]
    body = api_client.get(f"/v1/license-keys/{key.id}/activations/{activation_id}").json()
    assert (body["id"], body["license_key"]["id"]) == (activation_id, str(key.id))
    foreign, _ = grant_key(other_organization)
    assert api_client.get(f"/v1/license-keys/{foreign.id}/activations/{activation_id}").status_code == 404
    assert api_client.patch(f"/v1/license-keys/{foreign.id}", {"usage": 1}, format="json").status_code == 404


def test_rotate_gives_a_new_key_and_keeps_the_rest(api_client, organization, other_organization):
    key, _ = grant_key(organization, limit_usage=5)
    post(api_client, "activate", organization, key=key.key, label="laptop")
    post(api_client, "validate", organization, key=key.key, increment_usage=2)
    old = key.key
    response = api_client.post(f"/v1/license-keys/{key.id}/rotate")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(key.id) and body["key"] != old and body["key"].startswith("ACME-")
    assert (body["status"], body["usage"], body["limit_usage"], body["validations"]) == ("granted", 2, 5, 1)
    assert post(api_client, "validate", organization, key=old).status_code == 404
    assert post(api_client, "validate", organization, key=body["key"]).status_code == 200
    assert LicenseKeyActivation.objects.filter(license_key=key).count() == 1

    LicenseKey.objects.filter(pk=key.pk).update(status="revoked")
    refused = api_client.post(f"/v1/license-keys/{key.id}/rotate")
    assert refused.status_code == 400 and refused.json()["error"] == "RotateNotPermitted"
    foreign, _ = grant_key(other_organization)
    assert api_client.post(f"/v1/license-keys/{foreign.id}/rotate").status_code == 404
