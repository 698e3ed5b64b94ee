"""``event_types.update`` (PATCH /v1/event-types/{id}) through both SDKs: label a type by the id the list
shows; another organization's type is 404; an empty label is a validation error."""

import pytest
from polar_sdk import models as m032

from .harness import failed, ok, op

pytestmark = pytest.mark.contract

EVENTS = [{"name": "api_call", "external_customer_id": "u1"}, {"name": "upload", "external_customer_id": "u2"}]


def test_032_update_event_type(sdk032, sdk032_other):
    sdk032.events.ingest(request={"events": EVENTS})
    [api_call] = [t for t in sdk032.event_types.list().result.items if t.name == "api_call"]
    updated = sdk032.event_types.update(id=api_call.id, event_type_update={"label": "API call"})
    assert isinstance(updated, m032.EventType) and (updated.id, updated.label) == (api_call.id, "API call")
    assert {t.name: t.label for t in sdk032.event_types.list().result.items} == {"api_call": "API call", "upload": "upload"}
    with pytest.raises(m032.SDKError) as error:  # 0.32 types no 404 for this operation
        sdk032_other.event_types.update(id=api_call.id, event_type_update={"label": "Mine"})
    assert error.value.status_code == 404
    with pytest.raises(m032.HTTPValidationError):
        sdk032.event_types.update(id=api_call.id, event_type_update={"label": ""})


def test_10_update_event_type(sdk10, contract_other_token):
    results = sdk10.run(
        op("events.ingest", events=EVENTS),
        op("event_types.list", sorting=["label"]),
        op("event_types.update", "${1.items.0.id}", label="API call", label_property_selector="metadata.route"),
        op("event_types.list", sorting=["label"]),
        op("event_types.update", "${1.items.0.id}", label="Mine", access_token=contract_other_token),
        op("event_types.update", "${1.items.0.id}", label=""),
    )
    first = ok(results[1])["items"][0]
    updated = ok(results[2])
    assert updated["__class__"] == "EventType" and (updated["id"], updated["name"]) == (first["id"], first["name"])
    assert (updated["label"], updated["label_property_selector"]) == ("API call", "metadata.route")
    assert {t["name"]: t["label"] for t in ok(results[3])["items"]}[first["name"]] == "API call"
    assert failed(results[4], "EventTypesUpdate404Error", 404)
    error = failed(results[5], "HTTPValidationError", 422)
    assert error["body"]["detail"][0]["loc"] == ["body", "label"]


ROUTED = [
    {"name": "api_call", "external_customer_id": "u1", "metadata": {"route": "/v1/search"}, "timestamp": "2026-11-01T00:00:00Z"},
    {"name": "api_call", "external_customer_id": "u1", "metadata": {"verb": "GET"}, "timestamp": "2026-11-02T00:00:00Z"},
]


def test_032_events_are_labelled_by_the_types_property_selector(sdk032):
    sdk032.events.ingest(request={"events": ROUTED})
    [api_call] = sdk032.event_types.list().result.items
    sdk032.event_types.update(id=api_call.id, event_type_update={"label": "API call", "label_property_selector": "route"})
    events = sdk032.events.list(sorting=["timestamp"]).items  # not paged by 0.32: the model itself
    assert [(e.name, e.label) for e in events] == [("api_call", "/v1/search"), ("api_call", "API call")]
    assert sdk032.events.get(id=events[0].id).label == "/v1/search"


def test_10_events_are_labelled_by_the_types_property_selector(sdk10):
    results = sdk10.run(
        op("events.ingest", events=ROUTED),
        op("event_types.list"),
        op("event_types.update", "${1.items.0.id}", label="API call", label_property_selector="metadata.route"),
        op("events.list", sorting=["timestamp"]),
        op("events.get", "${3.items.0.id}"),
        op("events.list_names"),
    )
    assert [(e["__class__"], e["label"]) for e in ok(results[3])["items"]] == [
        ("UserEvent", "/v1/search"),
        ("UserEvent", "API call"),
    ]
    assert ok(results[4])["label"] == "/v1/search"
    assert [n["label"] for n in ok(results[5])["items"]] == ["API call"]
