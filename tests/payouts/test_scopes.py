"""Polar's scopes for the money APIs: ``transactions:*``, ``disputes:*``, ``payouts:*`` (no longer
``payments:read``/``refunds:write``), and the migration that carries old tokens' access to the new names."""

import importlib

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from polar.organizations.models import OrganizationAccessToken
from polar.organizations.services import access_token_create

pytestmark = pytest.mark.django_db


def _client(organization, scopes):
    _row, raw = access_token_create(organization=organization, comment="scopes", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.mark.parametrize(
    ("path", "allowed", "refused"),
    [
        ("/v1/transactions/", ["transactions:read"], ["payments:read", "payouts:read"]),
        ("/v1/transactions/summary", ["transactions:write"], ["payments:read"]),
        ("/v1/disputes/", ["disputes:read"], ["payments:read", "refunds:write"]),
    ],
)
def test_reads_need_polars_scope(organization, path, allowed, refused):
    assert _client(organization, allowed).get(path).status_code == 200
    for scope in refused:
        response = _client(organization, [scope]).get(path)
        assert response.status_code == 403, (path, scope)
        assert response.json()["error"] == "NotPermitted"


def test_accepting_a_dispute_needs_disputes_write(organization):
    response = _client(organization, ["disputes:read"]).post(
        "/v1/disputes/00000000-0000-0000-0000-000000000000/accept", format="json"
    )
    assert response.status_code == 403
    response = _client(organization, ["disputes:write"]).post(
        "/v1/disputes/00000000-0000-0000-0000-000000000000/accept", format="json"
    )
    assert response.status_code == 404


def test_old_tokens_keep_their_access_under_the_new_names(organization):
    old, _ = access_token_create(organization=organization, comment="old", scopes=["payments:read", "refunds:write"])
    plain, _ = access_token_create(organization=organization, comment="plain", scopes=["products:read"])
    migration = importlib.import_module("polar.organizations.migrations.0004_money_scopes")
    migration.carry_scopes(apps, None)
    old.refresh_from_db()
    plain.refresh_from_db()
    assert set(old.scopes) == {"payments:read", "refunds:write", "transactions:read", "disputes:read", "disputes:write"}
    assert plain.scopes == ["products:read"]
    # Payouts move money out: no token gains them by migration.
    assert not OrganizationAccessToken.objects.filter(
        comment__in=["old", "plain"], scopes__overlap=["payouts:read", "payouts:write"]
    )
