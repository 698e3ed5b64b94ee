"""The authorization matrix (issue 21): every object endpoint of the API, tried with the credentials that
must not reach the object, answers 404, 401 or 403 as designed, and never the object's data.

The endpoints come from the OpenAPI schema (every operation whose path names an object), and the schema is
checked to hold every route of the URL resolver, so a new endpoint is in the matrix the day it is routed.
Each is called on a real row of organization A (tests/security/objects.py):

| credential                                   | answer |
| -------------------------------------------- | ------ |
| organization B's token (every scope)         | 404    |
| organization A's expired token               | 401    |
| organization A's revoked token               | 401    |
| organization A's token lacking the scope     | 403    |
| a customer session (organization routes)     | 401    |
| another customer's session (portal routes)   | 404    |
| organization B's customer's session (portal) | 404    |
| an expired customer session (portal)         | 401    |
| an organization token (portal routes)        | 401    |
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import pytest
from django.urls import resolve
from drf_spectacular.generators import EndpointEnumerator
from rest_framework.test import APIClient

from billing.portal.sessions import customer_session_create
from polar import clock, ratelimit
from polar.api.permissions import HasTokenScopes
from polar.organizations.models import ALL_SCOPES
from polar.organizations.services import access_token_create, access_token_revoke
from tests.factories.customers import TeamCustomerFactory

from .objects import path_parameters, seed_world

pytestmark = pytest.mark.django_db

# Operations that name an object but take no organization token or customer session, and why.
PUBLIC = {
    # The checkout's client secret is the credential (Polar's hosted checkout); a wrong one is a 404.
    "GET /v1/checkouts/client/{client_secret}",
    "PATCH /v1/checkouts/client/{client_secret}",
    "POST /v1/checkouts/client/{client_secret}/confirm",
    # The invitation token is the credential; a wrong one is a 400 InvalidInvitationToken.
    "GET /v1/customer-seats/claim/{invitation_token}",
    # An organization's public portal page (name, slug, avatar), as on Polar.
    "GET /v1/customer-portal/organizations/{slug}",
}
# Routes left out of the schema on purpose, and why (the matrix reads the schema).
NOT_IN_SCHEMA = {
    # A browser follows it (302 to a fresh hosted checkout); its client secret is the credential. Polar
    # leaves it out of its schema too.
    ("/v1/checkout-links/{}/redirect", "GET"),
}
# Bodies for operations that read their body before they look for the row (others get ``{}``).
BODIES = {
    # An event type's id is derived from an event name; the service resolves it, after the body is read.
    "PATCH /v1/event-types/{id}": {"label": "Mine"},
}
# Query strings for reads that require one.
QUERIES = {
    "GET /v1/meters/{id}/quantities": {
        "start_timestamp": "2026-01-01T00:00:00Z",
        "end_timestamp": "2026-02-01T00:00:00Z",
        "interval": "day",
    },
}
# Organization operations that need no particular scope, and why (so "lacking the scope" does not apply).
UNSCOPED: set[str] = set()


@dataclasses.dataclass(frozen=True)
class Operation:
    method: str
    path: str

    def __str__(self):
        return f"{self.method} {self.path}"

    @property
    def portal(self) -> bool:
        return self.path.startswith("/v1/customer-portal/")


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """Hundreds of refused credentials from one address: the failed-authentication lockout (tested in
    tests/polar/test_rate_limits.py) would answer 429 before the matrix is through."""
    settings.RATE_LIMITS_ENABLED = False
    ratelimit.flush_all()
    yield
    ratelimit.flush_all()


def _schema(client) -> dict:
    return json.loads(client.get("/openapi.json").content)


def object_operations(schema: dict) -> list[Operation]:
    """Every operation whose path names an object (has a path parameter)."""
    return [
        Operation(method.upper(), path)
        for path, item in schema["paths"].items()
        if re.search(r"{\w+}", path)
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


def _client(bearer: str | None) -> APIClient:
    client = APIClient()
    if bearer:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer}")
    return client


def _call(client: APIClient, operation: Operation, ids: dict):
    params = path_parameters(operation.path, ids)
    path = operation.path
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    method = getattr(client, operation.method.lower())
    if operation.method in ("POST", "PATCH", "PUT"):
        return method(path, BODIES.get(str(operation), {}), format="json")
    return method(path, QUERIES.get(str(operation), {}))


def _leaks(response, ids: dict) -> list[str]:
    """The seeded ids and secrets that appear in ``response``'s body."""
    body = response.content.decode("utf-8", "replace")
    return [key for key, value in ids.items() if isinstance(value, str | int) and len(str(value)) > 8 and str(value) in body]


def _required_scopes(operation: Operation, path: str) -> list[str] | None:
    match = resolve(path)
    view = match.func.view_class(**getattr(match.func, "view_initkwargs", {}))
    request = type("Request", (), {"method": operation.method})()
    return HasTokenScopes().required_scopes(request, view)


def test_the_schema_holds_every_routed_api_endpoint(client):
    """The matrix reads the schema: a view left out of it would be left out of the matrix too."""
    routed = {
        (re.sub(r"{(\w+)}", "{}", path), method)
        for path, _regex, method, _view in EndpointEnumerator().get_api_endpoints()
        if path.startswith("/v1/")
    }
    documented = {
        (re.sub(r"{(\w+)}", "{}", path), method.upper())
        for path, item in _schema(client)["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert routed - documented == NOT_IN_SCHEMA


def test_organization_endpoints_refuse_every_credential_that_does_not_own_the_object(
    api_client, organization, other_organization, settings, client
):
    ids = seed_world(api_client, organization, settings)
    operations = [op for op in object_operations(_schema(client)) if not op.portal and str(op) not in PUBLIC]
    assert len(operations) > 80
    missing = [str(op) for op in operations if set(re.findall(r"{(\w+)}", op.path)) - set(path_parameters(op.path, ids))]
    assert not missing, f"seed a row for these operations' path parameters: {missing}"

    # The owner first: each read reaches its row with A's token (so a 404 below means refused, not absent).
    unreached = []
    for operation in operations:
        if operation.method == "GET":
            response = _call(api_client, operation, ids)
            if response.status_code != 200:
                unreached.append((str(operation), response.status_code, response.content[:160]))
    assert unreached == []

    _row, other = access_token_create(organization=other_organization, comment="tenant B")
    _row, expired = access_token_create(organization=organization, comment="expired", expires_in=dt.timedelta(seconds=-1))
    revoked_row, revoked = access_token_create(organization=organization, comment="revoked")
    access_token_revoke(token=revoked_row)
    credentials = {
        "another organization's token": (_client(other), {404}),
        "an expired token": (_client(expired), {401}),
        "a revoked token": (_client(revoked), {401}),
        "a customer session": (_client(ids["portal_token"]), {401}),
    }
    wrong, unscoped = [], []
    for operation in operations:
        for name, (client_, expected) in credentials.items():
            response = _call(client_, operation, ids)
            if response.status_code not in expected or _leaks(response, ids):
                wrong.append((str(operation), name, response.status_code, response.content[:160]))
        required = _required_scopes(operation, _call_path(operation, ids))
        if required is None:
            unscoped.append(str(operation))
            continue
        _row, lacking = access_token_create(
            organization=organization, comment="lacking", scopes=[s for s in ALL_SCOPES if s not in required]
        )
        response = _call(_client(lacking), operation, ids)
        if response.status_code != 403 or _leaks(response, ids):
            wrong.append((str(operation), f"a token without {required}", response.status_code, response.content[:160]))
    assert wrong == []
    assert set(unscoped) == UNSCOPED


def _call_path(operation: Operation, ids: dict) -> str:
    path = operation.path
    for name, value in path_parameters(operation.path, ids).items():
        path = path.replace("{" + name + "}", value)
    return path


def test_portal_endpoints_answer_only_the_session_customer(api_client, organization, other_organization, settings, client, token):
    ids = seed_world(api_client, organization, settings)
    operations = [op for op in object_operations(_schema(client)) if op.portal and str(op) not in PUBLIC]
    assert len(operations) > 15
    missing = [str(op) for op in operations if set(re.findall(r"{(\w+)}", op.path)) - set(path_parameters(op.path, ids))]
    assert not missing, f"seed a row for these operations' path parameters: {missing}"

    # The owner first: each operation reaches its row with the right session (so a 404 below means refused,
    # not absent). Member routes belong to the team customer, the rest to the paying customer.
    def owner(operation):
        return ids["portal_team_token"] if "/members/" in operation.path else ids["portal_token"]

    unreached = []
    for operation in operations:
        if operation.method == "GET":
            response = _call(_client(owner(operation)), operation, ids)
            if response.status_code != 200:
                unreached.append((str(operation), response.status_code, response.content[:160]))
    assert unreached == []

    # Team customers: the member routes answer a customer of another type 403 before they look for the row.
    neighbour = TeamCustomerFactory(organization=organization, name="Neighbours")
    stranger = TeamCustomerFactory(organization=other_organization, name="Strangers")
    with clock.freeze(clock.now() - dt.timedelta(days=30)):
        _session, expired = customer_session_create(customer=neighbour)
    credentials = {
        "another customer's session": (_client(customer_session_create(customer=neighbour)[1]), {404}),
        "another organization's customer's session": (_client(customer_session_create(customer=stranger)[1]), {404}),
        "an expired customer session": (_client(expired), {401}),
        "an organization token": (_client(token), {401}),
    }
    wrong = []
    for operation in operations:
        for name, (client_, expected) in credentials.items():
            response = _call(client_, operation, ids)
            if response.status_code not in expected or _leaks(response, ids):
                wrong.append((str(operation), name, response.status_code, response.content[:160]))
    assert wrong == []
