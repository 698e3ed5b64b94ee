"""Custom fields: CRUD with Polar's types and properties, tenant isolation, 422s, and attaching them to
products (``attached_custom_fields`` on create and update, shown on the product)."""

import pytest

from billing.models import CustomField, ProductCustomField
from tests.factories.subscriptions import monthly_product

pytestmark = pytest.mark.django_db

SELECT = {
    "type": "select",
    "slug": "Company-Size",
    "name": "Company size",
    "properties": {"form_label": "How big?", "options": [{"value": "s", "label": "Small"}, {"value": "l", "label": "Large"}]},
}


def _create(api_client, **body):
    response = api_client.post("/v1/custom-fields/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _locs(response):
    assert response.status_code == 422, response.content
    return [error["loc"] for error in response.json()["detail"]]


def test_create_each_type(api_client, organization):
    select = _create(api_client, **SELECT, metadata={"team": "sales"})
    assert (select["slug"], select["type"], select["organization_id"]) == ("company-size", "select", str(organization.id))
    assert select["properties"] == SELECT["properties"] and select["metadata"] == {"team": "sales"}
    text = _create(
        api_client, type="text", slug="vat", name="VAT", properties={"textarea": True, "min_length": 2, "max_length": 20}
    )
    assert text["properties"] == {"textarea": True, "min_length": 2, "max_length": 20}
    number = _create(api_client, type="number", slug="seats", name="Seats", properties={"ge": 1, "le": 100})
    assert number["properties"] == {"ge": 1, "le": 100}
    date = _create(api_client, type="date", slug="start", name="Start", properties={})
    checkbox = _create(api_client, type="checkbox", slug="tos", name="Terms", properties={"form_label": "I agree"})
    assert (date["type"], checkbox["properties"]) == ("date", {"form_label": "I agree"})


def test_create_refuses_bad_input_and_writes_nothing(api_client, organization, other_organization):
    _create(api_client, **SELECT)
    post = lambda **body: api_client.post("/v1/custom-fields/", body, format="json")  # noqa: E731
    assert _locs(post(**SELECT)) == [["body", "slug"]]  # taken (case-insensitive)
    assert _locs(post(**{**SELECT, "slug": "has space"})) == [["body", "slug"]]
    assert _locs(post(**{**SELECT, "slug": "other", "properties": {"options": []}})) == [["body", "properties", "options"]]
    assert _locs(post(type="number", slug="n", name="N", properties={"ge": 5, "le": 1})) == [["body", "properties", "le"]]
    assert _locs(post(type="color", slug="c", name="C", properties={})) == [["body", "type"]]
    assert _locs(post(type="text", slug="t", name="", properties={})) == [["body", "name"]]
    assert _locs(post(type="text", slug="t", name="T", properties={}, organization_id=str(other_organization.id))) == [
        ["body", "organization_id"]
    ]
    assert CustomField.objects.count() == 1


def test_get_list_update_delete_and_tenant_isolation(api_client, other_api_client):
    select = _create(api_client, **SELECT)
    text = _create(api_client, type="text", slug="vat", name="VAT number", properties={})
    assert api_client.get(f"/v1/custom-fields/{select['id']}").json()["name"] == "Company size"
    assert [f["slug"] for f in api_client.get("/v1/custom-fields/").json()["items"]] == ["company-size", "vat"]
    assert [f["slug"] for f in api_client.get("/v1/custom-fields/", {"type": "text"}).json()["items"]] == ["vat"]
    assert [f["slug"] for f in api_client.get("/v1/custom-fields/", {"query": "numb"}).json()["items"]] == ["vat"]
    assert [f["slug"] for f in api_client.get("/v1/custom-fields/", {"sorting": "-name"}).json()["items"]] == [
        "vat",
        "company-size",
    ]

    updated = api_client.patch(
        f"/v1/custom-fields/{text['id']}", {"type": "text", "name": "VAT ID", "slug": "VAT-id"}, format="json"
    )
    assert updated.status_code == 200, updated.content
    assert (updated.json()["name"], updated.json()["slug"]) == ("VAT ID", "vat-id")
    wrong_type = api_client.patch(f"/v1/custom-fields/{text['id']}", {"type": "number", "name": "x"}, format="json")
    assert _locs(wrong_type) == [["body", "type"]]
    taken = api_client.patch(f"/v1/custom-fields/{text['id']}", {"type": "text", "slug": "company-size"}, format="json")
    assert _locs(taken) == [["body", "slug"]]

    for method in ("get", "patch", "delete"):
        response = getattr(other_api_client, method)(f"/v1/custom-fields/{select['id']}", {"type": "select"}, format="json")
        assert response.status_code == 404
    assert other_api_client.get("/v1/custom-fields/").json()["items"] == []

    assert api_client.delete(f"/v1/custom-fields/{select['id']}").status_code == 204
    assert api_client.get(f"/v1/custom-fields/{select['id']}").status_code == 404
    # The slug of a deleted field is free again.
    _create(api_client, **SELECT)


def test_attach_to_products(api_client, organization, other_api_client):
    select = _create(api_client, **SELECT)
    text = _create(api_client, type="text", slug="vat", name="VAT", properties={})
    response = api_client.post(
        "/v1/products/",
        {
            "name": "Pro",
            "recurring_interval": "month",
            "prices": [{"amount_type": "fixed", "price_amount": 1000, "price_currency": "usd"}],
            "attached_custom_fields": [
                {"custom_field_id": text["id"], "required": True},
                {"custom_field_id": select["id"], "required": False},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    attached = response.json()["attached_custom_fields"]
    assert [(a["custom_field_id"], a["order"], a["required"]) for a in attached] == [
        (text["id"], 0, True),
        (select["id"], 1, False),
    ]
    assert attached[1]["custom_field"]["properties"]["options"][0] == {"value": "s", "label": "Small"}
    product_id = response.json()["id"]
    assert api_client.get("/v1/products/").json()["items"][0]["attached_custom_fields"] == attached

    reordered = api_client.patch(
        f"/v1/products/{product_id}",
        {"attached_custom_fields": [{"custom_field_id": select["id"], "required": True}]},
        format="json",
    )
    assert [a["custom_field"]["slug"] for a in reordered.json()["attached_custom_fields"]] == ["company-size"]
    # Deleting a field detaches it.
    api_client.delete(f"/v1/custom-fields/{select['id']}")
    assert api_client.get(f"/v1/products/{product_id}").json()["attached_custom_fields"] == []
    assert ProductCustomField.objects.count() == 0


def test_attach_refuses_unknown_or_foreign_fields(api_client, other_api_client, organization):
    foreign = other_api_client.post("/v1/custom-fields/", {**SELECT}, format="json").json()
    product = monthly_product(organization)
    response = api_client.patch(
        f"/v1/products/{product.id}",
        {"name": "Renamed", "attached_custom_fields": [{"custom_field_id": foreign["id"], "required": True}]},
        format="json",
    )
    assert _locs(response) == [["body", "attached_custom_fields", 0, "custom_field_id"]]
    product.refresh_from_db()
    assert product.name == "Pro"  # nothing written
    missing_required = api_client.patch(
        f"/v1/products/{product.id}", {"attached_custom_fields": [{"custom_field_id": foreign["id"]}]}, format="json"
    )
    assert _locs(missing_required) == [["body", "attached_custom_fields", 0, "required"]]


def test_custom_field_scopes(organization):
    from rest_framework.test import APIClient

    from polar.organizations.services import access_token_create

    _row, raw = access_token_create(organization=organization, comment="read", scopes=["custom_fields:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/v1/custom-fields/").status_code == 200
    assert client.post("/v1/custom-fields/", SELECT, format="json").status_code == 403
