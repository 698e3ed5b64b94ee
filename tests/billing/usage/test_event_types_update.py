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


def _labels(api_client, path="/v1/events/"):
    return [(e["name"], e["label"]) for e in api_client.get(path, {"sorting": "timestamp"}).json()["items"]]


def test_events_take_their_label_from_the_metadata_path_the_type_names(api_client, other_api_client, frozen_now):
    llm = {"vendor": "acme", "input_tokens": 1, "output_tokens": 1, "total_tokens": 2}
    metadatas = [
        ("email_sent", {"subject": "Welcome", "_llm": {**llm, "model": "small"}}),
        ("email_sent", {"subject": "  ", "_llm": {**llm, "model": "large"}}),
        ("email_sent", {"_llm": {**llm, "model": "tiny"}}),
        ("upload", {"subject": "ignored"}),
    ]
    events = [
        {"name": name, "external_customer_id": "u1", "metadata": metadata, "timestamp": f"2026-11-0{day}T00:00:00Z"}
        for day, (name, metadata) in enumerate(metadatas, start=1)
    ]
    assert ingest(api_client, events).status_code == 200
    assert _labels(api_client) == [("email_sent", "email_sent")] * 3 + [("upload", "upload")]  # no type yet: the name
    type_id = _ids(api_client)["email_sent"]["id"]
    patch = lambda body: api_client.patch(f"/v1/event-types/{type_id}", body, format="json")  # noqa: E731
    assert patch({"label": "E-mail", "label_property_selector": "metadata.subject"}).status_code == 200
    # A blank or missing value falls back to the type's label; another type is unaffected.
    assert _labels(api_client) == [
        ("email_sent", "Welcome"),
        ("email_sent", "E-mail"),
        ("email_sent", "E-mail"),
        ("upload", "upload"),
    ]
    assert patch({"label": "E-mail", "label_property_selector": "_llm.model"}).status_code == 200  # without "metadata."
    assert [label for _name, label in _labels(api_client)] == ["small", "large", "tiny", "upload"]
    first = api_client.get("/v1/events/", {"sorting": "timestamp"}).json()["items"][0]
    assert api_client.get(f"/v1/events/{first['id']}").json()["label"] == "small"
    assert patch({"label": "E-mail", "label_property_selector": "metadata._llm"}).status_code == 200  # an object: no label
    assert [label for _name, label in _labels(api_client)][:3] == ["E-mail"] * 3
    # The list of types and of names shows the type's own label, not one event's.
    assert _ids(api_client)["email_sent"]["label"] == "E-mail"
    assert {n["name"]: n["label"] for n in api_client.get("/v1/events/names").json()["items"]} == {
        "email_sent": "E-mail",
        "upload": "upload",
    }
    # Dropping the selector: every event reads the type's label again.
    assert patch({"label": "Mail", "label_property_selector": " "}).json()["label_property_selector"] is None
    assert [label for _name, label in _labels(api_client)][:3] == ["Mail"] * 3
    assert other_api_client.get("/v1/events/").json()["items"] == []
