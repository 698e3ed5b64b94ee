"""``PATCH /v1/event-types/{id}``: the merchant labels an event type by the id the list shows."""

import uuid

from billing.models import EventType

from .conftest import ingest


def _ids(api_client):
    return {t["name"]: t for t in api_client.get("/v1/event-types/").json()["items"]}


def test_label_an_event_type_and_list_shows_it(api_client, organization, frozen_now):
    ingest(api_client, [{"name": "api_call", "external_customer_id": "u1"}, {"name": "upload", "external_customer_id": "u1"}])
    listed = _ids(api_client)
    assert listed["api_call"]["id"] and listed["api_call"]["created_at"] is None
    response = api_client.patch(
        f"/v1/event-types/{listed['api_call']['id']}",
        {"label": "  API call  ", "label_property_selector": "metadata.route"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["name"], body["label"], body["label_property_selector"]) == (
        listed["api_call"]["id"], "api_call", "API call", "metadata.route",
    )  # fmt: skip
    assert body["created_at"] is not None and body["organization_id"] == str(organization.id)
    again = _ids(api_client)
    assert (again["api_call"]["label"], again["api_call"]["id"]) == ("API call", listed["api_call"]["id"])
    assert again["upload"]["label"] == "upload"
    # A second update changes the same row.
    api_client.patch(f"/v1/event-types/{listed['api_call']['id']}", {"label": "Calls"}, format="json")
    row = EventType.objects.get()
    assert (row.label, row.label_property_selector) == ("Calls", None)


def test_other_organization_and_unknown_ids_are_404(api_client, other_api_client, frozen_now):
    ingest(api_client, [{"name": "api_call", "external_customer_id": "u1"}])
    type_id = _ids(api_client)["api_call"]["id"]
    assert other_api_client.patch(f"/v1/event-types/{type_id}", {"label": "Mine"}, format="json").status_code == 404
    assert api_client.patch(f"/v1/event-types/{uuid.uuid4()}", {"label": "x"}, format="json").status_code == 404
    assert EventType.objects.count() == 0


def test_bad_input_is_422(api_client, frozen_now):
    ingest(api_client, [{"name": "api_call", "external_customer_id": "u1"}])
    type_id = _ids(api_client)["api_call"]["id"]
    for body, loc in (({}, ["body", "label"]), ({"label": "   "}, ["body", "label"]), ({"label": "x" * 129}, ["body", "label"])):
        response = api_client.patch(f"/v1/event-types/{type_id}", body, format="json")
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == loc, response.content
    assert api_client.patch("/v1/event-types/not-a-uuid", {"label": "x"}, format="json").status_code == 422
    assert EventType.objects.count() == 0
