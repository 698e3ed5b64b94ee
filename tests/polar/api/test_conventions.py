"""Polar's wire conventions: pagination, sorting, error shapes, trailing slashes, versions, tenancy."""

import uuid

import pytest

from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.polar.api.urls")]


def test_list_is_paginated_with_polar_shape(api_client, organization):
    CustomerFactory.create_batch(25, organization=organization)
    body = api_client.get("/v1/things/", {"page": 3, "limit": 10}).json()
    assert body["pagination"] == {"total_count": 25, "max_page": 3}
    assert len(body["items"]) == 5


def test_default_limit_is_10(api_client, organization):
    CustomerFactory.create_batch(12, organization=organization)
    body = api_client.get("/v1/things/").json()
    assert len(body["items"]) == 10
    assert body["pagination"] == {"total_count": 12, "max_page": 2}


def test_empty_list_has_zero_max_page(api_client):
    assert api_client.get("/v1/things/").json() == {"items": [], "pagination": {"total_count": 0, "max_page": 0}}


@pytest.mark.parametrize(
    "params,loc",
    [
        ({"limit": 101}, ["query", "limit"]),
        ({"limit": 0}, ["query", "limit"]),
        ({"page": 0}, ["query", "page"]),
        ({"page": "x"}, ["query", "page"]),
        ({"sorting": "password"}, ["query", "sorting"]),
    ],
)
def test_bad_query_is_422_with_loc(api_client, params, loc):
    response = api_client.get("/v1/things/", params)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == loc
    assert detail[0]["msg"] and detail[0]["type"]


def test_sorting_and_repeated_filter_keys(api_client, organization):
    for email in ["b@x.co", "a@x.co", "c@x.co"]:
        CustomerFactory(organization=organization, email=email)
    body = api_client.get("/v1/things/?sorting=email&email=a@x.co&email=c@x.co").json()
    assert [item["email"] for item in body["items"]] == ["a@x.co", "c@x.co"]
    body = api_client.get("/v1/things/?sorting=-email").json()
    assert [item["email"] for item in body["items"]] == ["c@x.co", "b@x.co", "a@x.co"]


def test_another_organizations_id_is_404(api_client, other_organization):
    foreign = CustomerFactory(organization=other_organization)
    response = api_client.get(f"/v1/things/{foreign.id}")
    assert response.status_code == 404
    assert response.json() == {"error": "ResourceNotFound", "detail": "Not found"}


def test_other_organization_lists_never_include_foreign_rows(api_client, other_api_client, organization):
    CustomerFactory.create_batch(3, organization=organization)
    assert api_client.get("/v1/things/").json()["pagination"]["total_count"] == 3
    assert other_api_client.get("/v1/things/").json()["pagination"]["total_count"] == 0


def test_unknown_id_is_404_and_malformed_id_is_422(api_client):
    assert api_client.get(f"/v1/things/{uuid.uuid4()}").status_code == 404
    response = api_client.get("/v1/things/not-a-uuid")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "id"]


def test_malformed_json_is_422(api_client):
    response = api_client.generic("POST", "/v1/things/", "{not json", content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_body_that_is_not_an_object_is_422(api_client):
    response = api_client.post("/v1/things/", [1, 2], format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


def test_invalid_field_is_422_with_body_loc(api_client):
    response = api_client.post("/v1/things/", {"email": "nope"}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "email"]
    response = api_client.post("/v1/things/", {}, format="json")
    assert response.json()["detail"][0] == {"loc": ["body", "email"], "msg": "This field is required.", "type": "missing"}


def test_create_answers_201_json(api_client):
    response = api_client.post("/v1/things/", {"email": "new@x.co"}, format="json")
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["id"], str)
    assert body["created_at"].endswith("Z")


def test_no_redirect_for_missing_or_extra_slash(api_client):
    # Collections live with a slash, items without. A collection without its slash is served as it is
    # (polar.api.routing: as Polar's server does; a POST is never redirected); an item with one is a 404.
    assert api_client.get("/v1/things").status_code == 200
    assert api_client.post("/v1/things", {"email": "a@b.co"}, format="json").status_code == 201
    assert api_client.get(f"/v1/things/{uuid.uuid4()}/").status_code == 404


def test_unknown_path_is_json_404(api_client):
    response = api_client.get("/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["error"] == "ResourceNotFound"


def test_method_not_allowed_is_json(api_client):
    response = api_client.delete("/v1/things/")
    assert response.status_code == 405
    assert response.json()["error"] == "MethodNotAllowed"


def test_unexpected_error_is_json_500_not_html(api_client):
    response = api_client.post(f"/v1/things/{uuid.uuid4()}", {}, format="json")
    assert response.status_code == 500
    assert response.json() == {"error": "InternalServerError", "detail": "An unexpected error occurred."}


def test_polar_version_header(api_client):
    assert api_client.get("/v1/things/", HTTP_POLAR_VERSION="2026-04").status_code == 200
    response = api_client.get("/v1/things/", HTTP_POLAR_VERSION="1999-01")
    assert response.status_code == 400
    assert response.json()["error"] == "UnsupportedAPIVersion"


def test_request_id_is_echoed_or_generated(api_client):
    assert api_client.get("/v1/things/", HTTP_X_REQUEST_ID="abc-123")["X-Request-Id"] == "abc-123"
    assert len(api_client.get("/v1/things/")["X-Request-Id"]) == 32
