import uuid

from .conftest import ingest


def _events(api_client, customer):
    c = str(customer.id)
    ingest(
        api_client,
        [
            {
                "name": "api_call",
                "customer_id": c,
                "timestamp": "2026-11-02T00:00:00Z",
                "metadata": {"model": "a"},
                "external_id": "e1",
            },
            {
                "name": "upload",
                "customer_id": c,
                "timestamp": "2026-11-03T00:00:00Z",
                "metadata": {"model": "b"},
                "parent_id": "e1",
            },
            {"name": "api_call", "external_customer_id": "nobody-yet", "timestamp": "2026-11-04T00:00:00Z"},
        ],
    )


def test_list_events_in_polars_user_event_shape(api_client, organization, customer, frozen_now):
    _events(api_client, customer)
    body = api_client.get("/v1/events/").json()
    assert body["pagination"] == {"total_count": 3, "max_page": 1}
    first = body["items"][0]  # newest first
    assert first["name"] == "api_call"
    assert first["label"] == "api_call"
    assert first["source"] == "user"
    assert first["customer_id"] is None and first["customer"] is None
    assert first["external_customer_id"] == "nobody-yet"
    assert first["organization_id"] == str(organization.id)
    assert first["timestamp"] == "2026-11-04T00:00:00Z"
    linked = body["items"][1]
    assert linked["customer"]["id"] == str(customer.id)
    assert linked["customer"]["email"] == customer.email
    assert linked["parent_id"] == "e1"
    assert linked["metadata"] == {"model": "b"}


def test_list_events_filters(api_client, customer, frozen_now):
    _events(api_client, customer)

    def names(params):
        items = api_client.get("/v1/events/", params).json()["items"]
        return [item["name"] + item["timestamp"][8:10] for item in items]

    assert names({"customer_id": str(customer.id)}) == ["upload03", "api_call02"]
    assert names({"external_customer_id": "nobody-yet"}) == ["api_call04"]
    assert names({"external_customer_id": "cust-1"}) == ["upload03", "api_call02"]
    assert names({"name": "upload"}) == ["upload03"]
    assert names({"start_timestamp": "2026-11-03T00:00:00Z", "end_timestamp": "2026-11-04T00:00:00Z"}) == ["upload03"]
    assert names({"metadata[model]": "a"}) == ["api_call02"]
    assert names({"source": "system"}) == []
    assert names({"sorting": "timestamp"}) == ["api_call02", "upload03", "api_call04"]


def test_metadata_filter_key_is_a_parameter_not_sql(api_client, customer, frozen_now):
    _events(api_client, customer)
    response = api_client.get("/v1/events/", {"metadata[model') OR 1=1 --]": "x", "metadata[a__b]": "y"})
    assert response.status_code == 200
    assert response.json()["items"] == []


def test_get_event_and_other_organizations_event_is_404(api_client, other_api_client, customer, frozen_now):
    _events(api_client, customer)
    event_id = api_client.get("/v1/events/").json()["items"][0]["id"]
    assert api_client.get(f"/v1/events/{event_id}").json()["id"] == event_id
    assert other_api_client.get(f"/v1/events/{event_id}").status_code == 404
    assert other_api_client.get("/v1/events/").json()["items"] == []
    assert api_client.get(f"/v1/events/{uuid.uuid4()}").status_code == 404


def test_bad_event_list_query_is_a_422(api_client):
    response = api_client.get("/v1/events/", {"customer_id": "nope"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["query", "customer_id"]
    assert api_client.get("/v1/events/", {"sorting": "name"}).status_code == 422


def test_list_events_matched_by_a_meter(api_client, organization, other_organization, customer, frozen_now):
    from tests.factories.usage import MeterFactory

    _events(api_client, customer)
    meter = MeterFactory(
        organization=organization,
        filter={"conjunction": "and", "clauses": [{"property": "model", "operator": "eq", "value": "b"}]},
    )
    items = api_client.get("/v1/events/", {"meter_id": str(meter.id)}).json()["items"]
    assert [item["name"] for item in items] == ["upload"]
    foreign = MeterFactory(organization=other_organization)
    assert api_client.get("/v1/events/", {"meter_id": str(foreign.id)}).status_code == 404


def test_event_names_grouped_scoped_and_sorted(api_client, other_api_client, organization, customer, frozen_now):
    _events(api_client, customer)
    ingest(other_api_client, [{"name": "elsewhere", "external_customer_id": "x", "timestamp": "2026-11-05T00:00:00Z"}])
    body = api_client.get("/v1/events/names").json()
    assert body["pagination"] == {"total_count": 2, "max_page": 1}
    assert [(n["name"], n["occurrences"]) for n in body["items"]] == [("api_call", 2), ("upload", 1)]
    assert body["items"][0]["first_seen"].startswith("2026-11-02") and body["items"][0]["last_seen"].startswith("2026-11-04")
    by_name = api_client.get("/v1/events/names?sorting=-name&customer_id=" + str(customer.id)).json()
    assert [(n["name"], n["occurrences"]) for n in by_name["items"]] == [("upload", 1), ("api_call", 1)]
    assert api_client.get("/v1/events/names?sorting=bogus").status_code == 422
    other = api_client.get(f"/v1/events/names?organization_id={uuid.uuid4()}").json()
    assert other["items"] == []


def test_event_types_with_stats(api_client, other_api_client, organization, customer, frozen_now):
    _events(api_client, customer)
    body = api_client.get("/v1/event-types/?sorting=name").json()
    assert [(t["name"], t["label"], t["occurrences"]) for t in body["items"]] == [
        ("api_call", "api_call", 2),
        ("upload", "upload", 1),
    ]
    assert body["items"][0]["organization_id"] == str(organization.id) and body["items"][0]["source"] == "user"
    assert [t["name"] for t in api_client.get("/v1/event-types/?root_events=true").json()["items"]] == ["api_call"]
    assert [t["name"] for t in api_client.get("/v1/event-types/?parent_id=e1").json()["items"]] == ["upload"]
    assert other_api_client.get("/v1/event-types/").json()["items"] == []
