"""``events.list_names`` (GET /v1/events/names) through both SDKs: distinct names with their counts,
scoped to the caller's organization."""

import pytest

from .harness import ok, op

pytestmark = pytest.mark.contract

EVENTS = [
    {"name": "api_call", "external_customer_id": "u1", "timestamp": "2026-11-02T00:00:00Z"},
    {"name": "api_call", "external_customer_id": "u1", "timestamp": "2026-11-04T00:00:00Z"},
    {"name": "upload", "external_customer_id": "u2", "timestamp": "2026-11-03T00:00:00Z"},
]


def test_032_list_names(sdk032, sdk032_other):
    sdk032.events.ingest(request={"events": EVENTS})
    sdk032_other.events.ingest(request={"events": [{"name": "elsewhere", "external_customer_id": "u1"}]})
    page = sdk032.events.list_names()
    assert [(n.name, n.occurrences) for n in page.result.items] == [("api_call", 2), ("upload", 1)]
    first = page.result.items[0]
    assert first.source == "user" and first.label == "api_call"
    assert first.first_seen.isoformat().startswith("2026-11-02") and first.last_seen.isoformat().startswith("2026-11-04")
    assert page.result.pagination.total_count == 2
    by_count = sdk032.events.list_names(sorting=["occurrences"], external_customer_id="u2")
    assert [n.name for n in by_count.result.items] == ["upload"]
    assert [n.name for n in sdk032.events.list_names(query="upl").result.items] == ["upload"]


def test_10_list_names(sdk10):
    _ingest, names, by_name = sdk10.run(
        op("events.ingest", events=EVENTS),
        op("events.list_names"),
        op("events.list_names", sorting=["name"], source="user"),
    )
    items = ok(names)["items"]
    assert [(n["name"], n["occurrences"]) for n in items] == [("api_call", 2), ("upload", 1)]
    assert items[0]["__class__"] == "EventName" and items[0]["source"] == "user"
    assert [n["name"] for n in ok(by_name)["items"]] == ["api_call", "upload"]


def test_10_event_types_list(sdk10, contract_organization, contract_other_token):
    _ingest, types, other = sdk10.run(
        op("events.ingest", events=EVENTS),
        op("event_types.list", sorting=["-occurrences"]),
        op("event_types.list", access_token=contract_other_token),
    )
    items = ok(types)["items"]
    assert [(t["name"], t["occurrences"]) for t in items] == [("api_call", 2), ("upload", 1)]
    assert items[0]["__class__"] == "EventTypeWithStats" and items[0]["organization_id"] == str(contract_organization.id)
    assert ok(other)["items"] == []
