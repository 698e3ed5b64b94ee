"""The per-process token cache (polar/organizations/token_cache.py): a token is read from PostgreSQL once,
and every change of access is honoured on the next call, whichever worker made it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from polar import ratelimit
from polar.organizations import token_cache
from polar.organizations.models import Organization, OrganizationAccessToken
from polar.organizations.services import access_token_create

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.polar.api.urls")]

TOKEN_TABLE = '"organizations_organizationaccesstoken"'


def _get(client, raw):
    return client.get("/v1/things/", HTTP_AUTHORIZATION=f"Bearer {raw}")


def _token_reads(client, raw):
    with CaptureQueriesContext(connection) as captured:
        response = _get(client, raw)
    reads = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT") and TOKEN_TABLE in q["sql"]]
    return response.status_code, len(reads)


def _revoke_as_another_worker(row, *, new_epoch: bool):
    """What another gunicorn worker's revocation leaves here: the row changed in PostgreSQL (no signal in
    this process, so the local entries are untouched) and, through its receiver, a new epoch in Redis."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE organizations_organizationaccesstoken SET revoked_at = now() WHERE id = %s", [row.pk])
    if new_epoch:
        ratelimit.redis_client().set(token_cache.epoch_key(), "another-worker")


def test_second_call_reads_no_token_row(anonymous_client, organization):
    _row, raw = access_token_create(organization=organization)
    assert _token_reads(anonymous_client, raw) == (200, 1)
    assert _token_reads(anonymous_client, raw) == (200, 0)
    assert _token_reads(anonymous_client, raw) == (200, 0)


def test_revocation_by_another_worker_is_honoured_on_the_next_call(anonymous_client, organization):
    row, raw = access_token_create(organization=organization)
    assert _token_reads(anonymous_client, raw) == (200, 1)
    _revoke_as_another_worker(row, new_epoch=True)
    response = _get(anonymous_client, raw)
    assert response.status_code == 401
    assert response.json()["detail"] == "This access token has been revoked."


def test_without_a_new_epoch_the_cached_token_is_served(anonymous_client, organization):
    """The control of the test above: the epoch, not chance, is what makes the next call read the row."""
    row, raw = access_token_create(organization=organization)
    assert _token_reads(anonymous_client, raw) == (200, 1)
    _revoke_as_another_worker(row, new_epoch=False)
    assert _token_reads(anonymous_client, raw) == (200, 0)


def test_saving_a_token_or_an_organization_sets_a_new_epoch(organization):
    row, _raw = access_token_create(organization=organization)
    client = ratelimit.redis_client()
    client.set(token_cache.epoch_key(), "before")
    row.comment = "renamed"
    row.save()
    after_token = client.get(token_cache.epoch_key())
    assert after_token not in (None, b"before")
    organization.name = "Renamed"
    organization.save()
    assert client.get(token_cache.epoch_key()) not in (None, after_token)


def test_denied_organization_is_refused_on_the_next_call(anonymous_client, organization):
    _row, raw = access_token_create(organization=organization)
    assert _get(anonymous_client, raw).status_code == 200
    fresh = Organization.objects.get(pk=organization.pk)
    fresh.status = Organization.Status.DENIED
    fresh.save()
    response = _get(anonymous_client, raw)
    assert response.status_code == 401
    assert response.json()["detail"] == "This organization cannot use the API."


def test_without_redis_the_cache_is_not_trusted(anonymous_client, organization, settings):
    row, raw = access_token_create(organization=organization)
    assert _token_reads(anonymous_client, raw) == (200, 1)
    _revoke_as_another_worker(row, new_epoch=False)
    settings.RATE_LIMIT_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = _get(anonymous_client, raw)
    assert response.status_code == 401
    assert response.json()["detail"] == "This access token has been revoked."


def test_an_entry_older_than_the_max_age_is_read_again(anonymous_client, organization, monkeypatch):
    _row, raw = access_token_create(organization=organization)
    assert _token_reads(anonymous_client, raw) == (200, 1)
    monkeypatch.setattr(token_cache, "MAX_AGE_SECONDS", 0)
    assert _token_reads(anonymous_client, raw) == (200, 1)


def test_each_request_gets_its_own_copy(organization):
    _row, raw = access_token_create(organization=organization)
    ratelimit.redis_client().set(token_cache.epoch_key(), "e")
    first = token_cache.lookup(raw_token=raw, epoch=b"e")
    first.organization.name = "changed by one request"
    second = token_cache.lookup(raw_token=raw, epoch=b"e")
    assert second is not first and second.organization is not first.organization
    assert second.organization.name == organization.name
    assert isinstance(second, OrganizationAccessToken)
