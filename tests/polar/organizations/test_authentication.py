import datetime as dt

import pytest

from polar import clock
from polar.organizations.models import Organization, OrganizationAccessToken
from polar.organizations.services import access_token_create, access_token_revoke

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.polar.api.urls")]


def _assert_unauthorized(response):
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == "Unauthorized"
    assert isinstance(body["detail"], str) and body["detail"]


def test_missing_authorization_header_is_401(anonymous_client):
    _assert_unauthorized(anonymous_client.get("/v1/things/"))


def test_malformed_authorization_header_is_401(anonymous_client):
    _assert_unauthorized(anonymous_client.get("/v1/things/", HTTP_AUTHORIZATION="Token abc"))


def test_unknown_token_is_401(anonymous_client):
    _assert_unauthorized(anonymous_client.get("/v1/things/", HTTP_AUTHORIZATION="Bearer polar_oat_nope"))


def test_expired_token_is_401(anonymous_client, organization):
    _row, raw = access_token_create(organization=organization, expires_in=dt.timedelta(hours=1))
    with clock.freeze(clock.now() + dt.timedelta(hours=2)):
        _assert_unauthorized(anonymous_client.get("/v1/things/", HTTP_AUTHORIZATION=f"Bearer {raw}"))


def test_revoked_token_is_401(anonymous_client, organization):
    row, raw = access_token_create(organization=organization)
    assert anonymous_client.get("/v1/things/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    access_token_revoke(token=row)
    _assert_unauthorized(anonymous_client.get("/v1/things/", HTTP_AUTHORIZATION=f"Bearer {raw}"))


def test_denied_organization_token_is_401(anonymous_client, organization, token):
    organization.status = Organization.Status.DENIED
    organization.save()
    _assert_unauthorized(anonymous_client.get("/v1/things/", HTTP_AUTHORIZATION=f"Bearer {token}"))


def test_token_is_stored_only_as_hash(organization):
    row, raw = access_token_create(organization=organization)
    assert raw.startswith("polar_oat_")
    stored = OrganizationAccessToken.objects.get(pk=row.pk)
    assert raw not in {stored.token_hash, stored.token_hint, stored.comment}
    assert len(stored.token_hash) == 64


def test_valid_token_records_last_use(api_client, organization):
    assert api_client.get("/v1/things/").status_code == 200
    assert OrganizationAccessToken.objects.get(organization=organization).last_used_at is not None


def test_token_without_scope_is_403(anonymous_client, organization):
    _row, raw = access_token_create(organization=organization, scopes=["products:read"])
    response = anonymous_client.get("/v1/things/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 403
    assert response.json()["error"] == "NotPermitted"


def test_read_scope_does_not_allow_writes(anonymous_client, organization):
    _row, raw = access_token_create(organization=organization, scopes=["customers:read"])
    client_headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert anonymous_client.get("/v1/things/", **client_headers).status_code == 200
    response = anonymous_client.post("/v1/things/", {"email": "a@b.co"}, format="json", **client_headers)
    assert response.status_code == 403
