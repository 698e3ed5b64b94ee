"""polar.api.versions: the Polar-Version header, and the version changes both ways (see
docs/api-versions.md). The SDK-level proof is tests/contract (every 1.0 test runs in all three versions)."""

import copy

import pytest

from polar.api import versions
from polar.errors import PolarRequestValidationError

SEAT_PRICE_2027 = {
    "id": "p1",
    "amount_type": "seat_based",
    "price_currency": "usd",
    "tiers": {"type": "graduated", "tiers": [{"bound": 9, "unit_amount": "800"}, {"bound": None, "unit_amount": "600"}]},
    "minimum_units": 1,
    "maximum_units": None,
}
KEY_2027 = {
    "id": "k1",
    "key": "K",
    "display_key": "****-K",
    "benefit_id": "b1",
    "status": "granted",
    "member_id": None,
    "member": None,
    "subscription_id": None,
    "subscription": None,
    "order_id": "o1",
    "order": {"id": "o1", "created_at": "2026-01-01T00:00:00Z", "status": "paid", "paid": True},
}


def test_header_resolution():
    assert versions.resolve(None) == "2026-10" == versions.CURRENT
    assert [versions.resolve(v) for v in versions.VERSIONS] == ["2026-04", "2026-10", "2027-01"]
    with pytest.raises(versions.UnsupportedAPIVersion) as raised:
        versions.resolve("2025-01")
    assert "2026-04, 2026-10, 2027-01" in raised.value.detail


def test_unknown_version_is_400_in_polars_shape_naming_the_versions(api_client):
    response = api_client.get("/v1/products/", HTTP_POLAR_VERSION="2099-01")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "UnsupportedAPIVersion" and "2026-04, 2026-10, 2027-01" in body["detail"]


def test_seat_price_rendered_per_version():
    body = {"items": [{"prices": [copy.deepcopy(SEAT_PRICE_2027)]}]}
    assert versions.render(copy.deepcopy(body), "2027-01") == body
    for version in ("2026-10", "2026-04"):
        [price] = versions.render(copy.deepcopy(body), version)["items"][0]["prices"]
        assert "tiers" not in price and "minimum_units" not in price
        assert price["seat_tiers"] == {
            "seat_tier_type": "graduated",
            "tiers": [
                {"min_seats": 1, "max_seats": 9, "price_per_seat": 800},
                {"min_seats": 10, "max_seats": None, "price_per_seat": 600},
            ],
            "minimum_seats": 1,
            "maximum_seats": None,
        }


def test_license_key_rendered_per_version():
    assert versions.render(copy.deepcopy(KEY_2027), "2027-01") == KEY_2027
    v2026_10 = versions.render({"data": copy.deepcopy(KEY_2027)}, "2026-10")["data"]
    assert set(KEY_2027) - set(v2026_10) == {"subscription_id", "subscription", "order_id", "order"}
    v2026_04 = versions.render(copy.deepcopy(KEY_2027), "2026-04")
    assert set(KEY_2027) - set(v2026_04) == {"subscription_id", "subscription", "order_id", "order", "member_id", "member"}


@pytest.mark.parametrize("version", ["2026-04", "2026-10"])
def test_old_seat_tiers_request_is_upgraded(version):
    body = {
        "prices": [
            {
                "amount_type": "seat_based",
                "seat_tiers": {
                    "tiers": [{"min_seats": 10, "price_per_seat": 600}, {"min_seats": 2, "max_seats": 9, "price_per_seat": 800}]
                },
            }
        ]
    }
    [price] = versions.upgrade_request(body, version)["prices"]
    assert price == {
        "amount_type": "seat_based",
        "tiers": {"type": "volume", "tiers": [{"bound": 9, "unit_amount": 800}, {"bound": None, "unit_amount": 600}]},
        "minimum_units": 2,
    }


def test_old_seat_tiers_errors_name_the_clients_keys():
    gap = {
        "amount_type": "seat_based",
        "seat_tiers": {"tiers": [{"min_seats": 1, "max_seats": 4, "price_per_seat": 1}, {"min_seats": 6, "price_per_seat": 1}]},
    }
    with pytest.raises(PolarRequestValidationError) as raised:
        versions.upgrade_request({"prices": [gap]}, "2026-10")
    assert raised.value.errors[0]["loc"] == ["body", "prices", 0, "seat_tiers", "tiers", 1, "min_seats"]
    # 2027-01 bodies are left alone (the API validates ``tiers``; ``seat_tiers`` is no field there).
    assert versions.upgrade_request({"prices": [copy.deepcopy(gap)]}, "2027-01") == {"prices": [gap]}


@pytest.mark.django_db
def test_products_api_speaks_each_version(api_client):
    body_2026 = {
        "name": "Team",
        "recurring_interval": "month",
        "prices": [{"amount_type": "seat_based", "seat_tiers": {"tiers": [{"min_seats": 1, "price_per_seat": 500}]}}],
    }
    created = api_client.post("/v1/products/", body_2026, format="json", HTTP_POLAR_VERSION="2026-04")
    assert created.status_code == 201, created.json()
    product_id = created.json()["id"]
    assert created.json()["prices"][0]["seat_tiers"]["tiers"] == [{"min_seats": 1, "max_seats": None, "price_per_seat": 500}]
    latest = api_client.get(f"/v1/products/{product_id}", HTTP_POLAR_VERSION="2027-01").json()["prices"][0]
    assert latest["tiers"] == {"type": "volume", "tiers": [{"bound": None, "unit_amount": "500"}]} and "seat_tiers" not in latest
    # No header: 2026-10 (seat_tiers); a 2027-01 body without ``tiers`` is a 422.
    assert "seat_tiers" in api_client.get(f"/v1/products/{product_id}").json()["prices"][0]
    refused = api_client.post("/v1/products/", body_2026, format="json", HTTP_POLAR_VERSION="2027-01")
    assert refused.status_code == 422 and ["body", "prices", 0, "tiers"] in [e["loc"] for e in refused.json()["detail"]]


@pytest.mark.django_db
def test_the_openapi_schema_is_served_per_version(client):
    """/openapi.json answers the schema of the version the request names (issue 21: each is fuzzed)."""

    def schema(**extra):
        response = client.get("/openapi.json", **extra)
        assert response.status_code == 200, response.content
        return response.json()

    newest = schema(HTTP_POLAR_VERSION="2027-01")
    oldest = schema(QUERY_STRING="version=2026-04")
    assert (newest["info"]["version"], oldest["info"]["version"], schema()["info"]["version"]) == (
        "2027-01",
        "2026-04",
        versions.CURRENT,
    )
    seat_2027 = newest["components"]["schemas"]["SeatBasedPriceInputRequest"]
    seat_2026 = oldest["components"]["schemas"]["SeatBasedPriceInputRequest"]
    assert "seat_tiers" not in seat_2027["properties"] and "tiers" in seat_2027["required"]
    assert "seat_tiers" in seat_2026["properties"] and "tiers" not in seat_2026["required"]
    refused = client.get("/openapi.json", HTTP_POLAR_VERSION="2025-01")
    assert refused.status_code == 400 and refused.json()["error"] == "UnsupportedAPIVersion"


@pytest.mark.django_db
def test_every_operation_documents_polars_error_answers(client):
    schema = client.get("/openapi.json").json()
    product = schema["paths"]["/v1/products/{id}"]["get"]["responses"]
    assert set(product) == {"200", "400", "401", "403", "404", "422", "429"}
    assert product["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/PolarError"}
    assert set(schema["paths"]["/v1/products/{id}"]["patch"]["responses"]) >= {"409", "413"}
    public = schema["paths"]["/v1/checkouts/client/{client_secret}"]["get"]["responses"]
    assert "401" not in public and "404" in public
    page = schema["paths"]["/v1/customers/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    page = schema["components"]["schemas"][page["$ref"].rsplit("/", 1)[1]]  # Polar's page, not an array
    assert page["required"] == ["items", "pagination"] and page["properties"]["items"]["type"] == "array"
