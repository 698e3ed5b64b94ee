import datetime as dt

from billing.models import Event, EventExternalId
from billing.usage.services import MAX_BATCH_SIZE, link_events_to_customer
from tests.factories import CustomerFactory

from .conftest import ingest


def test_ingest_stores_events_and_answers_counts(api_client, customer, frozen_now):
    response = ingest(
        api_client,
        [
            {"name": "api_call", "customer_id": str(customer.id), "metadata": {"tokens": 5}},
            {"name": "api_call", "external_customer_id": "cust-1", "timestamp": "2026-11-15T11:00:00Z"},
        ],
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"inserted": 2, "duplicates": 0}
    events = sorted(Event.objects.all(), key=lambda event: event.timestamp)
    assert [(event.customer_id, event.external_customer_id) for event in events] == [
        (customer.id, "cust-1"),
        (customer.id, "cust-1"),
    ]
    assert events[0].timestamp == dt.datetime(2026, 11, 15, 11, tzinfo=dt.UTC)
    assert events[1].timestamp == frozen_now  # default: now
    assert events[1].metadata == {"tokens": 5}
    assert {event.source for event in events} == {"user"}


def test_same_external_id_twice_in_one_batch_is_one_insert_and_one_duplicate(api_client, customer, frozen_now):
    event = {"name": "api_call", "customer_id": str(customer.id), "external_id": "evt-1"}
    response = ingest(api_client, [event, dict(event, metadata={"other": 1})])
    assert response.json() == {"inserted": 1, "duplicates": 1}
    assert Event.objects.get().metadata == {}  # the first occurrence wins


def test_same_external_id_across_batches_is_a_duplicate(api_client, customer, frozen_now):
    event = {"name": "api_call", "customer_id": str(customer.id), "external_id": "evt-1"}
    assert ingest(api_client, [event]).json() == {"inserted": 1, "duplicates": 0}
    assert ingest(api_client, [event, dict(event, external_id="evt-2")]).json() == {"inserted": 1, "duplicates": 1}
    assert Event.objects.count() == 2


def test_external_id_is_unique_across_partitions(api_client, customer, frozen_now):
    first = {"name": "api_call", "customer_id": str(customer.id), "external_id": "evt-1", "timestamp": "2026-03-10T00:00:00Z"}
    second = dict(first, timestamp="2026-11-10T00:00:00Z")
    assert ingest(api_client, [first]).json() == {"inserted": 1, "duplicates": 0}
    assert ingest(api_client, [second]).json() == {"inserted": 0, "duplicates": 1}
    assert list(Event.objects.values_list("timestamp", flat=True)) == [dt.datetime(2026, 3, 10, tzinfo=dt.UTC)]


def test_backdated_event_creates_its_month_partition(api_client, customer, frozen_now):
    from billing.usage.partitions import partition_names

    assert "billing_event_p202601" not in partition_names()
    response = ingest(api_client, [{"name": "x", "customer_id": str(customer.id), "timestamp": "2026-01-31T23:59:59Z"}])
    assert response.json() == {"inserted": 1, "duplicates": 0}
    assert "billing_event_p202601" in partition_names()


def test_same_external_id_in_two_organizations_is_two_events(api_client, other_api_client, customer, other_customer, frozen_now):
    event = {"name": "api_call", "external_customer_id": "cust-1", "external_id": "evt-1"}
    assert ingest(api_client, [event]).json() == {"inserted": 1, "duplicates": 0}
    assert ingest(other_api_client, [event]).json() == {"inserted": 1, "duplicates": 0}
    assert EventExternalId.objects.count() == 2


def test_one_invalid_event_rejects_the_batch_with_its_location(api_client, customer, frozen_now):
    events = [{"name": "ok", "customer_id": str(customer.id)} for _ in range(10)]
    events[7]["timestamp"] = "not a date"
    response = ingest(api_client, events)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "events", 7, "timestamp"],
            "msg": "Input should be a valid datetime in ISO 8601 format",
            "type": "datetime_parsing",
        }
    ]
    assert Event.objects.count() == 0


def test_every_invalid_field_is_reported(api_client, customer, frozen_now):
    response = ingest(
        api_client,
        [
            {"customer_id": str(customer.id)},
            {"name": "x"},
            {"name": "x", "customer_id": "nope"},
            {"name": "x", "customer_id": str(customer.id), "metadata": {"nested": {"a": 1}}},
            {"name": "x", "customer_id": str(customer.id), "external_id": ""},
        ],
    )
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [
        ["body", "events", 0, "name"],
        ["body", "events", 1, "customer_id"],
        ["body", "events", 2, "customer_id"],
        ["body", "events", 3, "metadata", "nested"],
        ["body", "events", 4, "external_id"],
    ]
    assert Event.objects.count() == 0


def test_future_timestamp_beyond_skew_is_rejected(api_client, customer, frozen_now):
    future = (frozen_now + dt.timedelta(seconds=6)).isoformat()
    response = ingest(api_client, [{"name": "x", "customer_id": str(customer.id), "timestamp": future}])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "events", 0, "timestamp"]


def test_small_clock_skew_is_accepted(api_client, customer, frozen_now):
    future = (frozen_now + dt.timedelta(seconds=4)).isoformat()
    response = ingest(api_client, [{"name": "x", "customer_id": str(customer.id), "timestamp": future}])
    assert response.json() == {"inserted": 1, "duplicates": 0}


def test_timestamp_older_than_the_window_is_rejected(api_client, customer, frozen_now):
    old = (frozen_now - dt.timedelta(days=367)).isoformat()
    response = ingest(api_client, [{"name": "x", "customer_id": str(customer.id), "timestamp": old}])
    assert response.status_code == 422
    assert "older than 366 days" in response.json()["detail"][0]["msg"]


def test_customer_of_another_organization_is_rejected(api_client, other_customer, frozen_now):
    response = ingest(api_client, [{"name": "x", "customer_id": str(other_customer.id)}])
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "events", 0, "customer_id"], "msg": "Customer not found in this organization", "type": "value_error"}
    ]
    assert Event.objects.count() == 0


def test_batch_over_the_maximum_is_rejected_clearly(api_client, customer, frozen_now):
    events = [{"name": "x", "customer_id": str(customer.id)}] * (MAX_BATCH_SIZE + 1)
    response = ingest(api_client, events)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "events"]
    assert response.json()["detail"][0]["type"] == "too_long"
    assert Event.objects.count() == 0


def test_a_full_batch_is_accepted(api_client, customer, frozen_now):
    events = [{"name": "x", "customer_id": str(customer.id), "external_id": f"e{i}"} for i in range(MAX_BATCH_SIZE)]
    assert ingest(api_client, events).json() == {"inserted": MAX_BATCH_SIZE, "duplicates": 0}


def test_cost_metadata_is_validated(api_client, customer, frozen_now):
    good = {"name": "llm", "customer_id": str(customer.id), "metadata": {"_cost": {"amount": "0.0125", "currency": "usd"}}}
    assert ingest(api_client, [good]).json() == {"inserted": 1, "duplicates": 0}
    bad = {"name": "llm", "customer_id": str(customer.id), "metadata": {"_cost": {"amount": "abc", "currency": "eur"}}}
    response = ingest(api_client, [bad])
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [
        ["body", "events", 0, "metadata", "_cost", "amount"],
        ["body", "events", 0, "metadata", "_cost", "currency"],
    ]


def test_metadata_limits_are_polars(api_client, customer, frozen_now):
    too_many = {f"k{i}": i for i in range(51)}
    long_key = {"k" * 41: 1}
    long_value = {"k": "v" * 501}
    responses = [
        ingest(api_client, [{"name": "x", "customer_id": str(customer.id), "metadata": metadata}])
        for metadata in (too_many, long_key, long_value)
    ]
    assert [response.status_code for response in responses] == [422, 422, 422]
    assert Event.objects.count() == 0


def test_external_customer_events_are_linked_when_the_customer_is_created(api_client, organization, frozen_now):
    ingest(api_client, [{"name": "x", "external_customer_id": "late"}])
    assert Event.objects.get().customer_id is None
    customer = CustomerFactory(organization=organization, external_id="late")
    assert link_events_to_customer(customer=customer) == 1
    assert Event.objects.get().customer_id == customer.id
    assert link_events_to_customer(customer=customer) == 0


def test_malformed_json_is_a_422(api_client):
    response = api_client.post("/v1/events/ingest", data=b"{", content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_ingest_needs_the_events_write_scope(organization, customer):
    from polar.organizations.services import access_token_create
    from tests.conftest import _client

    _row, raw = access_token_create(organization=organization, scopes=["events:read"])
    response = ingest(_client(raw), [{"name": "x", "customer_id": str(customer.id)}])
    assert response.status_code == 403


def test_nul_characters_are_a_422_not_a_database_error(api_client, customer, frozen_now):
    c = str(customer.id)
    response = ingest(
        api_client,
        [
            {"name": "a\u0000b", "customer_id": c},
            {"name": "x", "customer_id": c, "external_id": "e\u0000"},
            {"name": "x", "customer_id": c, "metadata": {"k\u0000": 1}},
            {"name": "x", "customer_id": c, "metadata": {"k": "v\u0000"}},
        ],
    )
    assert response.status_code == 422
    assert [error["loc"][2] for error in response.json()["detail"]] == [0, 1, 2, 3]
    assert Event.objects.count() == 0


def test_llm_metadata_is_validated(api_client, customer, frozen_now):
    llm = {"vendor": "openai", "model": "gpt-4o", "input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    good = ingest(api_client, [{"name": "llm", "customer_id": str(customer.id), "metadata": {"_llm": llm}}])
    assert good.json() == {"inserted": 1, "duplicates": 0}
    bad = ingest(api_client, [{"name": "llm", "customer_id": str(customer.id), "metadata": {"_llm": dict(llm, input_tokens=-1)}}])
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "events", 0, "metadata", "_llm", "input_tokens"]
