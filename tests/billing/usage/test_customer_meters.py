import datetime as dt
import uuid
from decimal import Decimal

from billing.models import CustomerMeter
from billing.usage.selectors import customer_meter_list
from tests.factories import CustomerFactory
from tests.factories.usage import MeterFactory

from .conftest import ingest

TOKENS = {"func": "sum", "property": "tokens"}
API_CALLS = {"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "api_call"}]}


def _setup(api_client, organization, customer):
    meter = MeterFactory(organization=organization, name="tokens", filter=API_CALLS, aggregation=TOKENS)
    second = CustomerFactory(organization=organization, external_id="cust-2")
    ingest(
        api_client,
        [
            {"name": "api_call", "customer_id": str(customer.id), "metadata": {"tokens": 7}, "timestamp": "2026-11-02T00:00:00Z"},
            {"name": "api_call", "customer_id": str(customer.id), "metadata": {"tokens": 5}, "timestamp": "2026-11-03T00:00:00Z"},
            # previous month: not in the current period
            {"name": "api_call", "customer_id": str(second.id), "metadata": {"tokens": 100}, "timestamp": "2026-10-31T23:59:59Z"},
            {"name": "api_call", "customer_id": str(second.id), "metadata": {"tokens": 1}, "timestamp": "2026-11-01T00:00:00Z"},
        ],
    )
    return meter, second


def test_list_customer_meters_for_the_current_month(api_client, organization, customer, frozen_now):
    meter, second = _setup(api_client, organization, customer)
    response = api_client.get("/v1/customer-meters/")
    assert response.status_code == 200, response.json()
    items = {item["customer_id"]: item for item in response.json()["items"]}
    assert set(items) == {str(customer.id), str(second.id)}
    mine = items[str(customer.id)]
    assert (mine["consumed_units"], mine["credited_units"], mine["balance"]) == (12, 0, -12)
    assert items[str(second.id)]["consumed_units"] == 1
    assert mine["meter"]["id"] == str(meter.id)
    assert mine["customer"]["id"] == str(customer.id)
    assert mine["meter_id"] == str(meter.id)


def test_customer_meter_ids_are_stable_and_gettable(api_client, organization, customer, frozen_now):
    _setup(api_client, organization, customer)
    first = api_client.get("/v1/customer-meters/", {"external_customer_id": "cust-1"}).json()["items"]
    again = api_client.get("/v1/customer-meters/", {"customer_id": str(customer.id)}).json()["items"]
    assert len(first) == 1 and first[0]["id"] == again[0]["id"]
    detail = api_client.get(f"/v1/customer-meters/{first[0]['id']}").json()
    assert detail["consumed_units"] == 12
    assert CustomerMeter.objects.count() == 1  # only the pair that was listed


def test_other_organizations_customer_meter_is_404_and_not_listed(
    api_client, other_api_client, organization, customer, frozen_now
):
    _setup(api_client, organization, customer)
    item_id = api_client.get("/v1/customer-meters/").json()["items"][0]["id"]
    assert other_api_client.get(f"/v1/customer-meters/{item_id}").status_code == 404
    assert other_api_client.get("/v1/customer-meters/").json()["items"] == []
    assert api_client.get(f"/v1/customer-meters/{uuid.uuid4()}").status_code == 404


def test_archived_meters_have_no_customer_meters(api_client, organization, customer, frozen_now):
    meter, _second = _setup(api_client, organization, customer)
    api_client.patch(f"/v1/meters/{meter.id}", {"is_archived": True}, format="json")
    assert api_client.get("/v1/customer-meters/").json()["items"] == []


def test_units_follow_the_period_of_now(organization, api_client, customer, frozen_now):
    _setup(api_client, organization, customer)
    october = customer_meter_list(organization=organization, now=dt.datetime(2026, 10, 15, tzinfo=dt.UTC))
    assert [(row.customer.external_id, row.units.consumed) for row in october] == [("cust-2", Decimal(100))]


def test_bad_customer_meter_query_is_a_422(api_client):
    response = api_client.get("/v1/customer-meters/", {"meter_id": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["query", "meter_id"]
