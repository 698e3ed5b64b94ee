import pytest
from django.db import connection

from billing.models import Meter
from tests.factories.usage import MeterFactory

COUNT_API_CALLS = {
    "name": "API calls",
    "filter": {"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "api_call"}]},
    "aggregation": {"func": "count"},
}


def test_create_meter_answers_polars_shape(api_client, organization):
    response = api_client.post("/v1/meters/", COUNT_API_CALLS, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "API calls"
    assert body["filter"] == COUNT_API_CALLS["filter"]
    assert body["aggregation"] == {"func": "count"}
    assert body["organization_id"] == str(organization.id)
    assert body["unit"] == "scalar"
    assert body["metadata"] == {}
    assert body["modified_at"] is None
    assert body["archived_at"] is None


def test_nested_filters_are_stored_normalised(api_client):
    payload = dict(
        COUNT_API_CALLS,
        filter={
            "conjunction": "or",
            "clauses": [
                {"property": "name", "operator": "eq", "value": "a"},
                {"conjunction": "and", "clauses": [{"property": "metadata.tokens", "operator": "gte", "value": 5}]},
            ],
        },
        aggregation={"func": "sum", "property": "tokens"},
    )
    response = api_client.post("/v1/meters/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["filter"] == payload["filter"]
    assert response.json()["aggregation"] == {"func": "sum", "property": "tokens"}


@pytest.mark.parametrize(
    "change, loc",
    [
        ({"filter": {"conjunction": "xor", "clauses": []}}, ["body", "filter", "conjunction"]),
        (
            {"filter": {"conjunction": "and", "clauses": [{"property": "a", "operator": "regex", "value": "x"}]}},
            ["body", "filter", "clauses", 0, "operator"],
        ),
        (
            {"filter": {"conjunction": "and", "clauses": [{"property": "a", "operator": "eq", "value": [1]}]}},
            ["body", "filter", "clauses", 0, "value"],
        ),
        (
            {"filter": {"conjunction": "and", "clauses": [{"property": "a", "operator": "gt", "value": True}]}},
            ["body", "filter", "clauses", 0, "value"],
        ),
        (
            {"filter": {"conjunction": "and", "clauses": [{"property": "a", "operator": "like", "value": 3}]}},
            ["body", "filter", "clauses", 0, "value"],
        ),
        (
            {"filter": {"conjunction": "and", "clauses": [{"property": "a\x00b", "operator": "eq", "value": "x"}]}},
            ["body", "filter", "clauses", 0, "property"],
        ),
        (
            {"filter": {"conjunction": "and", "clauses": [{"property": "", "operator": "eq", "value": "x"}]}},
            ["body", "filter", "clauses", 0, "property"],
        ),
        (
            {"filter": {"conjunction": "and", "clauses": [{"property": "timestamp", "operator": "eq", "value": "yesterday"}]}},
            ["body", "filter", "clauses", 0, "value"],
        ),
        ({"aggregation": {"func": "median", "property": "x"}}, ["body", "aggregation", "func"]),
        ({"aggregation": {"func": "sum"}}, ["body", "aggregation", "property"]),
        ({"aggregation": {"func": "sum", "property": "name"}}, ["body", "aggregation", "property"]),
        ({"name": ""}, ["body", "name"]),
    ],
)
def test_invalid_meter_is_a_422_with_its_location_and_nothing_is_written(api_client, change, loc):
    response = api_client.post("/v1/meters/", dict(COUNT_API_CALLS, **change), format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc
    assert Meter.objects.count() == 0


def test_filters_deeper_than_the_limit_are_rejected(api_client):
    filter_ = {"conjunction": "and", "clauses": []}
    for _ in range(5):
        filter_ = {"conjunction": "and", "clauses": [filter_]}
    response = api_client.post("/v1/meters/", dict(COUNT_API_CALLS, filter=filter_), format="json")
    assert response.status_code == 422


def test_injection_in_property_names_and_values_is_stored_as_data(api_client, customer, frozen_now):
    from .conftest import ingest

    hostile = "x'); DROP TABLE billing_event; --"
    ingest(api_client, [{"name": "api_call", "customer_id": str(customer.id), "metadata": {"k": "v"}}])
    payload = dict(
        COUNT_API_CALLS,
        filter={
            "conjunction": "or",
            "clauses": [
                {"property": hostile, "operator": "eq", "value": "' OR 1=1 --"},
                {"property": "k", "operator": "like", "value": "%' OR '1'='1"},
                {"property": "name", "operator": "eq", "value": "api_call' OR 'a'='a"},
                {"property": 'a.b"c', "operator": "gt", "value": 1},
            ],
        },
        aggregation={"func": "sum", "property": "tokens'::numeric); DELETE FROM billing_event; --"},
    )
    response = api_client.post("/v1/meters/", payload, format="json")
    assert response.status_code == 201, response.json()
    quantities = api_client.get(
        f"/v1/meters/{response.json()['id']}/quantities",
        {"start_timestamp": "2026-11-01T00:00:00Z", "end_timestamp": "2026-12-01T00:00:00Z", "interval": "month"},
    )
    assert quantities.status_code == 200
    assert quantities.json()["total"] == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM billing_event")
        assert cursor.fetchone()[0] == 1


def test_get_meter_of_another_organization_is_404(api_client, other_organization):
    meter = MeterFactory(organization=other_organization)
    assert api_client.get(f"/v1/meters/{meter.id}").status_code == 404
    assert api_client.patch(f"/v1/meters/{meter.id}", {"name": "mine"}, format="json").status_code == 404
    assert (
        api_client.get(
            f"/v1/meters/{meter.id}/quantities",
            {"start_timestamp": "2026-11-01T00:00:00Z", "end_timestamp": "2026-12-01T00:00:00Z", "interval": "day"},
        ).status_code
        == 404
    )
    assert api_client.get("/v1/meters/").json()["items"] == []


def test_get_meter_with_a_malformed_id_is_a_422(api_client):
    response = api_client.get("/v1/meters/not-a-uuid")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "id"]


def test_patch_archives_and_list_filters_on_is_archived(api_client, organization):
    active = MeterFactory(organization=organization, name="active")
    archived = MeterFactory(organization=organization, name="old")
    response = api_client.patch(f"/v1/meters/{archived.id}", {"is_archived": True}, format="json")
    assert response.status_code == 200
    assert response.json()["archived_at"] is not None
    assert response.json()["modified_at"] is not None
    names = lambda query: [item["name"] for item in api_client.get("/v1/meters/", query).json()["items"]]  # noqa: E731
    assert names({"is_archived": "true"}) == ["old"]
    assert names({"is_archived": "false"}) == ["active"]
    assert sorted(names({})) == ["active", "old"]
    api_client.patch(f"/v1/meters/{archived.id}", {"is_archived": False}, format="json")
    assert Meter.objects.get(pk=archived.pk).archived_at is None
    assert active.archived_at is None


def test_patch_updates_filter_and_validates_it(api_client, organization):
    meter = MeterFactory(organization=organization)
    bad = api_client.patch(f"/v1/meters/{meter.id}", {"filter": {"conjunction": "and"}}, format="json")
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "filter", "clauses"]
    new_filter = {"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "b"}]}
    good = api_client.patch(f"/v1/meters/{meter.id}", {"filter": new_filter, "name": "B"}, format="json")
    assert good.status_code == 200
    assert good.json()["filter"] == new_filter
    assert good.json()["name"] == "B"


def test_meters_need_the_meters_scope(organization):
    from polar.organizations.services import access_token_create
    from tests.conftest import _client

    _row, raw = access_token_create(organization=organization, scopes=["meters:read"])
    response = _client(raw).post("/v1/meters/", COUNT_API_CALLS, format="json")
    assert response.status_code == 403
