"""Routing conventions of the public API: the schema is JSON at /openapi.json, operation ids are unique,
every /v1/ path is served with and without its trailing slash, external ids are one segment."""

import json
import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_openapi_json_is_json_whatever_the_accept_header():
    for accept in (None, "*/*", "application/yaml", "text/html"):
        headers = {"HTTP_ACCEPT": accept} if accept else {}
        response = Client().get("/openapi.json", **headers)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/") and "json" in response["Content-Type"]
        assert json.loads(response.content)["openapi"].startswith("3.")
    assert Client().get("/openapi.yaml").content.startswith(b"openapi:")


def test_operation_ids_are_unique_and_never_suffixed():
    schema = json.loads(Client().get("/openapi.json").content)
    ids = [op["operationId"] for item in schema["paths"].values() for op in item.values() if isinstance(op, dict)]
    assert len(ids) == len(set(ids))
    # drf-spectacular resolves a collision by appending a numeral: none may be left.
    assert [i for i in ids if re.search(r"\d$", i)] == []
    assert {"license_keys:validate", "customer_portal:license_keys:validate"} <= set(ids)


def test_collections_are_served_without_the_trailing_slash(api_client):
    assert api_client.get("/v1/products").status_code == 200
    assert api_client.get("/v1/products").json() == api_client.get("/v1/products/").json()
    created = api_client.post("/v1/customers", {"email": "slash@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="no-slash-1")
    assert created.status_code == 201, created.json()
    assert api_client.get("/v1/customers/").json()["pagination"]["total_count"] == 1
    missing = api_client.get("/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"] == "ResourceNotFound"
    # Authentication still applies through the fallback.
    assert Client().get("/v1/products").status_code == 401
