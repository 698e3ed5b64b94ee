"""``/v1/customers/``: CRUD, filters, uniqueness, soft delete, tenant isolation, the state endpoint."""

import uuid

import pytest

from customers.models import Customer
from polar.webhooks.models import WebhookEvent
from tests.factories.customers import CustomerFactory, DeletedCustomerFactory, TeamCustomerFactory

pytestmark = pytest.mark.django_db

REQUIRED_KEYS = {
    "id", "created_at", "modified_at", "metadata", "external_id", "email", "email_verified", "type", "name",
    "billing_name", "billing_address", "tax_id", "locale", "organization_id", "default_payment_method_id",
    "deleted_at", "first_user_event_at", "avatar_url",
}  # fmt: skip


def _loc(response):
    assert response.status_code == 422, response.content
    return [error["loc"] for error in response.json()["detail"]]


# --- create ---------------------------------------------------------------------------------------


def test_create_individual_answers_201_with_every_field(api_client, organization):
    response = api_client.post(
        "/v1/customers/",
        {"email": "Jane@Example.com", "name": "Jane", "external_id": "u1", "metadata": {"plan": "pro"}},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == REQUIRED_KEYS
    customer = Customer.objects.get()
    assert body["id"] == str(customer.id)
    assert body["type"] == "individual"
    assert body["email"] == "Jane@Example.com"
    assert body["email_verified"] is False
    assert body["name"] == body["billing_name"] == "Jane"
    assert body["external_id"] == "u1"
    assert body["metadata"] == {"plan": "pro"}
    assert body["organization_id"] == str(organization.id)
    assert body["billing_address"] is None and body["tax_id"] is None
    assert body["modified_at"] is None and body["deleted_at"] is None and body["first_user_event_at"] is None
    assert body["avatar_url"].startswith("https://www.gravatar.com/avatar/")


def test_create_emits_customer_created_with_the_api_resource(api_client, organization):
    body = api_client.post("/v1/customers/", {"email": "a@example.com"}, format="json").json()
    event = WebhookEvent.objects.get()
    assert event.type == "customer.created"
    assert event.organization_id == organization.id
    assert event.payload["data"] == body


def test_create_team_without_email(api_client):
    response = api_client.post("/v1/customers/", {"type": "team", "name": "Ops"}, format="json")
    assert response.status_code == 201
    assert response.json()["type"] == "team"
    assert response.json()["email"] is None


def test_create_individual_without_email_is_422(api_client):
    assert _loc(api_client.post("/v1/customers/", {"name": "No Mail"}, format="json")) == [["body", "email"]]
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    "payload,loc",
    [
        ({"email": "not-an-email"}, ["body", "email"]),
        ({"email": "a@example.com", "type": "company"}, ["body", "type"]),
        ({"email": "a@example.com", "billing_address": {"line1": "x"}}, ["body", "billing_address", "country"]),
        ({"email": "a@example.com", "billing_address": {"country": "XX"}}, ["body", "billing_address", "country"]),
        ({"email": "a@example.com", "tax_id": "DE123456789"}, ["body", "billing_address"]),
        ({"email": "a@example.com", "tax_id": "!", "billing_address": {"country": "DE"}}, ["body", "tax_id"]),
        ({"email": "a@example.com", "metadata": ["x"]}, ["body", "metadata"]),
    ],
)
def test_create_with_bad_input_is_422_and_writes_nothing(api_client, payload, loc):
    assert _loc(api_client.post("/v1/customers/", payload, format="json")) == [loc]
    assert Customer.objects.count() == 0
    assert WebhookEvent.objects.count() == 0


def test_create_with_another_organization_id_is_422(api_client, other_organization):
    response = api_client.post(
        "/v1/customers/", {"email": "a@example.com", "organization_id": str(other_organization.id)}, format="json"
    )
    assert _loc(response) == [["body", "organization_id"]]
    assert Customer.objects.count() == 0


def test_create_with_own_organization_id_is_accepted(api_client, organization):
    response = api_client.post(
        "/v1/customers/", {"email": "a@example.com", "organization_id": str(organization.id)}, format="json"
    )
    assert response.status_code == 201


def test_create_with_address_and_tax_id_renders_polar_shapes(api_client):
    response = api_client.post(
        "/v1/customers/",
        {
            "email": "a@example.com",
            "billing_address": {"line1": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "de"},
            "tax_id": "123 456 789",
        },
        format="json",
    )
    body = response.json()
    assert body["billing_address"] == {
        "line1": "Hauptstr. 1", "line2": None, "postal_code": "10115", "city": "Berlin", "state": None, "country": "DE",
    }  # fmt: skip
    assert body["tax_id"] == ["DE123456789", "eu_vat"]


def test_duplicate_email_ignoring_case_is_422_and_writes_nothing(api_client, organization):
    CustomerFactory(organization=organization, email="jane@example.com")
    response = api_client.post("/v1/customers/", {"email": "JANE@example.COM"}, format="json")
    assert _loc(response) == [["body", "email"]]
    assert response.json()["detail"][0]["msg"] == "A customer with this email address already exists."
    assert Customer.objects.count() == 1
    assert WebhookEvent.objects.count() == 0


def test_duplicate_external_id_is_422_and_writes_nothing(api_client, organization):
    CustomerFactory(organization=organization, external_id="u1")
    response = api_client.post("/v1/customers/", {"email": "new@example.com", "external_id": "u1"}, format="json")
    assert _loc(response) == [["body", "external_id"]]
    assert Customer.objects.count() == 1


def test_duplicate_email_and_external_id_are_both_reported(api_client, organization):
    CustomerFactory(organization=organization, email="a@example.com", external_id="u1")
    response = api_client.post("/v1/customers/", {"email": "a@example.com", "external_id": "u1"}, format="json")
    assert _loc(response) == [["body", "email"], ["body", "external_id"]]


def test_same_email_in_another_organization_is_allowed(api_client, other_organization):
    CustomerFactory(organization=other_organization, email="a@example.com", external_id="u1")
    response = api_client.post("/v1/customers/", {"email": "a@example.com", "external_id": "u1"}, format="json")
    assert response.status_code == 201


# --- get ------------------------------------------------------------------------------------------


def test_get_by_id(api_client, organization):
    customer = CustomerFactory(organization=organization)
    body = api_client.get(f"/v1/customers/{customer.id}").json()
    assert body["id"] == str(customer.id)
    assert body["email"] == customer.email


def test_get_by_external_id(api_client, organization):
    customer = CustomerFactory(organization=organization, external_id="user-42")
    response = api_client.get("/v1/customers/external/user-42")
    assert response.status_code == 200
    assert response.json()["id"] == str(customer.id)


def test_external_id_is_one_path_segment(api_client, organization):
    # As on Polar: what follows the id is another route (404 until it exists), never this customer.
    CustomerFactory(organization=organization, external_id="user")
    assert api_client.get("/v1/customers/external/user/42").status_code == 404
    assert api_client.get("/v1/customers/external/user/members/x").status_code == 404
    assert api_client.get("/v1/customers/external/user/state").status_code == 200


def test_get_with_malformed_id_is_422(api_client):
    assert _loc(api_client.get("/v1/customers/not-a-uuid")) == [["path", "id"]]


def test_get_unknown_id_is_404(api_client):
    response = api_client.get(f"/v1/customers/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json() == {"error": "ResourceNotFound", "detail": "Customer not found."}


def test_get_deleted_customer_is_404(api_client, organization):
    customer = DeletedCustomerFactory(organization=organization, external_id="gone")
    assert api_client.get(f"/v1/customers/{customer.id}").status_code == 404
    assert api_client.get("/v1/customers/external/gone").status_code == 404


# --- tenant isolation, every route ----------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("get", "/v1/customers/{id}", None),
        ("patch", "/v1/customers/{id}", {"name": "Hijacked"}),
        ("delete", "/v1/customers/{id}", None),
        ("get", "/v1/customers/{id}/state", None),
        ("get", "/v1/customers/external/{external_id}", None),
        ("patch", "/v1/customers/external/{external_id}", {"name": "Hijacked"}),
        ("delete", "/v1/customers/external/{external_id}", None),
        ("get", "/v1/customers/external/{external_id}/state", None),
    ],
)
def test_another_organizations_customer_is_404(api_client, other_organization, method, path, body):
    foreign = CustomerFactory(organization=other_organization, external_id="theirs", name="Theirs")
    url = path.format(id=foreign.id, external_id=foreign.external_id)
    response = getattr(api_client, method)(url, body, format="json") if body else getattr(api_client, method)(url)
    assert response.status_code == 404
    assert response.json()["error"] == "ResourceNotFound"
    foreign.refresh_from_db()
    assert foreign.name == "Theirs"
    assert foreign.deleted_at is None
    assert WebhookEvent.objects.count() == 0


def test_list_shows_only_own_customers(api_client, organization, other_organization):
    own = CustomerFactory(organization=organization)
    CustomerFactory(organization=other_organization)
    body = api_client.get("/v1/customers/").json()
    assert [item["id"] for item in body["items"]] == [str(own.id)]
    assert body["pagination"] == {"total_count": 1, "max_page": 1}


def test_list_filtered_by_another_organization_id_is_empty(api_client, organization, other_organization):
    CustomerFactory(organization=organization)
    CustomerFactory(organization=other_organization)
    body = api_client.get("/v1/customers/", {"organization_id": str(other_organization.id)}).json()
    assert body["items"] == []
    body = api_client.get("/v1/customers/", {"organization_id": str(organization.id)}).json()
    assert body["pagination"]["total_count"] == 1


# --- list -----------------------------------------------------------------------------------------


def test_list_paginates_newest_first(api_client, organization):
    customers = [CustomerFactory(organization=organization) for _ in range(3)]
    body = api_client.get("/v1/customers/", {"limit": 2}).json()
    assert [item["id"] for item in body["items"]] == [str(customers[2].id), str(customers[1].id)]
    assert body["pagination"] == {"total_count": 3, "max_page": 2}


def test_list_filters_by_email_exactly_ignoring_case(api_client, organization):
    target = CustomerFactory(organization=organization, email="jane@example.com")
    CustomerFactory(organization=organization, email="jane@example.com.au")
    body = api_client.get("/v1/customers/", {"email": "JANE@example.com"}).json()
    assert [item["id"] for item in body["items"]] == [str(target.id)]


@pytest.mark.parametrize("query", ["ACME", "acme-4", "Acme Corp"])
def test_list_query_searches_email_name_and_external_id(api_client, organization, query):
    by_email = CustomerFactory(organization=organization, email="ops@acme.io", name="X")
    by_name = CustomerFactory(organization=organization, email="b@example.com", name="Acme Corp")
    by_external = CustomerFactory(organization=organization, email="c@example.com", name="Y", external_id="acme-42")
    CustomerFactory(organization=organization, email="d@example.com", name="Other")
    expected = {
        "ACME": {by_email.id, by_name.id, by_external.id},
        "acme-4": {by_external.id},
        "Acme Corp": {by_name.id},
    }[query]
    body = api_client.get("/v1/customers/", {"query": query}).json()
    assert {uuid.UUID(item["id"]) for item in body["items"]} == expected


def test_list_filters_by_metadata(api_client, organization):
    pro = CustomerFactory(organization=organization, metadata={"plan": "pro", "seats": 3, "beta": True})
    team = CustomerFactory(organization=organization, metadata={"plan": "team", "seats": 3})
    CustomerFactory(organization=organization, metadata={"plan": "free"})

    def ids(query_string):
        return {uuid.UUID(item["id"]) for item in api_client.get(f"/v1/customers/?{query_string}").json()["items"]}

    assert ids("metadata[plan]=pro") == {pro.id}
    # Repeated values of one key are alternatives; several keys must all match.
    assert ids("metadata[plan]=pro&metadata[plan]=team") == {pro.id, team.id}
    assert ids("metadata[plan]=team&metadata[seats]=3") == {team.id}
    assert ids("metadata[beta]=true") == {pro.id}
    assert ids("metadata[missing]=x") == set()


def test_list_sorting_by_email(api_client, organization):
    for email in ["b@x.co", "a@x.co", "c@x.co"]:
        CustomerFactory(organization=organization, email=email)
    body = api_client.get("/v1/customers/", {"sorting": "email"}).json()
    assert [item["email"] for item in body["items"]] == ["a@x.co", "b@x.co", "c@x.co"]
    body = api_client.get("/v1/customers/", {"sorting": "-email"}).json()
    assert [item["email"] for item in body["items"]] == ["c@x.co", "b@x.co", "a@x.co"]


def test_list_unknown_sorting_is_422(api_client):
    assert _loc(api_client.get("/v1/customers/", {"sorting": "password"})) == [["query", "sorting"]]


def test_list_bad_organization_id_is_422(api_client):
    assert _loc(api_client.get("/v1/customers/", {"organization_id": "nope"})) == [["query", "organization_id", 0]]


def test_list_active_filter_without_subscriptions(api_client, organization):
    CustomerFactory(organization=organization)
    assert api_client.get("/v1/customers/", {"active": "true"}).json()["pagination"]["total_count"] == 0
    assert api_client.get("/v1/customers/", {"active": "false"}).json()["pagination"]["total_count"] == 1


def test_list_hides_deleted_customers(api_client, organization):
    DeletedCustomerFactory(organization=organization)
    assert api_client.get("/v1/customers/").json()["items"] == []


# --- update ---------------------------------------------------------------------------------------


def test_update_changes_sent_fields_only(api_client, organization):
    customer = CustomerFactory(organization=organization, name="Old", locale="en", metadata={"a": 1})
    response = api_client.patch(f"/v1/customers/{customer.id}", {"name": "New", "metadata": {"b": 2}}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "New"
    assert body["metadata"] == {"b": 2}
    assert body["locale"] == "en"
    assert body["modified_at"] is not None
    event = WebhookEvent.objects.get()
    assert event.type == "customer.updated"
    assert event.payload["data"] == body


def test_update_email_resets_verification(api_client, organization):
    customer = CustomerFactory(organization=organization, email="old@example.com", email_verified=True)
    body = api_client.patch(f"/v1/customers/{customer.id}", {"email": "new@example.com"}, format="json").json()
    assert body["email"] == "new@example.com"
    assert body["email_verified"] is False


def test_update_to_a_taken_email_is_422_and_changes_nothing(api_client, organization):
    CustomerFactory(organization=organization, email="taken@example.com")
    customer = CustomerFactory(organization=organization, email="mine@example.com", name="Mine")
    response = api_client.patch(f"/v1/customers/{customer.id}", {"email": "TAKEN@example.com", "name": "Changed"}, format="json")
    assert _loc(response) == [["body", "email"]]
    customer.refresh_from_db()
    assert (customer.email, customer.name) == ("mine@example.com", "Mine")
    assert WebhookEvent.objects.count() == 0


def test_update_sets_external_id_once(api_client, organization):
    customer = CustomerFactory(organization=organization)
    assert api_client.patch(f"/v1/customers/{customer.id}", {"external_id": "u1"}, format="json").status_code == 200
    response = api_client.patch(f"/v1/customers/{customer.id}", {"external_id": "u2"}, format="json")
    assert _loc(response) == [["body", "external_id"]]
    customer.refresh_from_db()
    assert customer.external_id == "u1"


def test_update_to_a_taken_external_id_is_422(api_client, organization):
    CustomerFactory(organization=organization, external_id="u1")
    customer = CustomerFactory(organization=organization)
    assert _loc(api_client.patch(f"/v1/customers/{customer.id}", {"external_id": "u1"}, format="json")) == [
        ["body", "external_id"]
    ]


def test_update_team_cannot_become_individual(api_client, organization):
    team = TeamCustomerFactory(organization=organization)
    assert _loc(api_client.patch(f"/v1/customers/{team.id}", {"type": "individual"}, format="json")) == [["body", "type"]]
    individual = CustomerFactory(organization=organization)
    body = api_client.patch(f"/v1/customers/{individual.id}", {"type": "team"}, format="json").json()
    assert body["type"] == "team"


def test_update_billing_address_cannot_be_reset_to_null(api_client, organization):
    customer = CustomerFactory(organization=organization)
    url = f"/v1/customers/{customer.id}"
    assert api_client.patch(url, {"billing_address": {"country": "FR"}}, format="json").status_code == 200
    assert _loc(api_client.patch(url, {"billing_address": None}, format="json")) == [["body", "billing_address"]]


def test_update_tax_id_follows_the_billing_country(api_client, organization):
    customer = CustomerFactory(organization=organization)
    url = f"/v1/customers/{customer.id}"
    body = api_client.patch(url, {"billing_address": {"country": "GB"}, "tax_id": "GB123456789"}, format="json").json()
    assert body["tax_id"] == ["GB123456789", "gb_vat"]


def test_update_by_external_id_cannot_change_external_id(api_client, organization):
    customer = CustomerFactory(organization=organization, external_id="u1")
    response = api_client.patch("/v1/customers/external/u1", {"external_id": "u2", "name": "Renamed"}, format="json")
    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.external_id, customer.name) == ("u1", "Renamed")


def test_update_with_bad_metadata_is_422(api_client, organization):
    customer = CustomerFactory(organization=organization, metadata={"a": 1})
    response = api_client.patch(f"/v1/customers/{customer.id}", {"metadata": {"a": {"nested": 1}}}, format="json")
    assert _loc(response) == [["body", "metadata", "a"]]
    customer.refresh_from_db()
    assert customer.metadata == {"a": 1}


# --- delete ---------------------------------------------------------------------------------------


def test_delete_is_soft_and_answers_204(api_client, organization):
    customer = CustomerFactory(organization=organization)
    response = api_client.delete(f"/v1/customers/{customer.id}")
    assert response.status_code == 204
    assert response.content == b""
    customer.refresh_from_db()
    assert customer.deleted_at is not None
    assert api_client.get(f"/v1/customers/{customer.id}").status_code == 404
    assert api_client.delete(f"/v1/customers/{customer.id}").status_code == 404
    event = WebhookEvent.objects.get()
    assert event.type == "customer.deleted"
    assert event.payload["data"]["deleted_at"] is not None


def test_delete_by_external_id(api_client, organization):
    customer = CustomerFactory(organization=organization, external_id="u1")
    assert api_client.delete("/v1/customers/external/u1").status_code == 204
    customer.refresh_from_db()
    assert customer.deleted_at is not None


def test_delete_frees_email_and_external_id(api_client, organization):
    customer = CustomerFactory(organization=organization, email="jane@example.com", external_id="u1")
    api_client.delete(f"/v1/customers/{customer.id}")
    response = api_client.post("/v1/customers/", {"email": "Jane@example.com", "external_id": "u1"}, format="json")
    assert response.status_code == 201
    assert api_client.get("/v1/customers/external/u1").json()["id"] == response.json()["id"]


def test_delete_with_anonymize_erases_personal_data(api_client, organization):
    customer = CustomerFactory(
        organization=organization, email="jane@example.com", name="Jane", billing_address={"country": "FR"}
    )
    assert api_client.delete(f"/v1/customers/{customer.id}?anonymize=true").status_code == 204
    customer.refresh_from_db()
    assert customer.email.endswith("@anonymized.invalid")
    assert "jane" not in customer.email and customer.name != "Jane"
    assert customer.billing_address is None


# --- state ----------------------------------------------------------------------------------------


def test_state_is_the_customer_plus_empty_lists(api_client, organization):
    customer = CustomerFactory(organization=organization, external_id="u1")
    body = api_client.get(f"/v1/customers/{customer.id}/state").json()
    assert set(body) == REQUIRED_KEYS | {"active_subscriptions", "granted_benefits", "active_meters"}
    assert body["id"] == str(customer.id)
    assert body["active_subscriptions"] == body["granted_benefits"] == body["active_meters"] == []
    assert api_client.get("/v1/customers/external/u1/state").json() == body


def test_routes_need_a_token(anonymous_client):
    assert anonymous_client.get("/v1/customers/").status_code == 401


def test_state_lists_active_subscriptions_and_granted_benefits(api_client, organization):
    from billing.subscriptions.lifecycle import subscription_cancel, subscription_create
    from tests.factories.payments import attach_card
    from tests.factories.subscriptions import custom_benefit, monthly_product

    benefit = custom_benefit(organization)
    product = monthly_product(organization, amount=1500, benefits=[benefit])
    method = attach_card(organization=organization, email="state@example.com", external_id="state-1")
    customer = method.customer
    subscription = subscription_create(organization=organization, customer=customer, product=product, payment_method=method)

    body = api_client.get(f"/v1/customers/{customer.id}/state").json()
    assert [(s["id"], s["status"], s["amount"]) for s in body["active_subscriptions"]] == [(str(subscription.id), "active", 1500)]
    assert [(g["benefit_id"], g["benefit_type"]) for g in body["granted_benefits"]] == [(str(benefit.id), "custom")]
    assert api_client.get("/v1/customers/", {"active": "true"}).json()["pagination"]["total_count"] == 1

    # canceled at period end: still active until then; revoked: gone from the state at once
    subscription_cancel(subscription=subscription)
    assert len(api_client.get(f"/v1/customers/{customer.id}/state").json()["active_subscriptions"]) == 1
    assert api_client.delete(f"/v1/subscriptions/{subscription.id}").status_code == 200
    body = api_client.get("/v1/customers/external/state-1/state").json()
    assert body["active_subscriptions"] == [] and body["granted_benefits"] == []
    assert api_client.get("/v1/customers/", {"active": "true"}).json()["pagination"]["total_count"] == 0


def test_state_lists_meters_with_credits_from_meter_credit_grants(api_client, organization):
    from billing.benefits.services import benefit_create
    from billing.subscriptions.lifecycle import subscription_create
    from billing.usage.services import events_ingest
    from tests.factories.catalog import MeterFactory
    from tests.factories.payments import attach_card
    from tests.factories.subscriptions import monthly_product

    meter = MeterFactory(organization=organization)
    credit = benefit_create(
        organization=organization,
        type="meter_credit",
        description="100 tokens",
        properties={"units": 100, "rollover": False, "meter_id": str(meter.id)},
    )
    product = monthly_product(organization, amount=1000, benefits=[credit])
    method = attach_card(organization=organization, email="meters@example.com", external_id="m-1")
    subscription_create(organization=organization, customer=method.customer, product=product, payment_method=method)
    events_ingest(organization=organization, events=[{"name": "api_call", "external_customer_id": "m-1"}] * 3)

    meters = api_client.get(f"/v1/customers/{method.customer.id}/state").json()["active_meters"]
    assert [(m["meter_id"], m["consumed_units"], m["credited_units"], m["balance"]) for m in meters] == [
        (str(meter.id), 3.0, 100, 97.0)
    ]


def test_creating_a_customer_links_the_events_ingested_under_its_external_id(api_client, organization):
    ingested = api_client.post(
        "/v1/events/ingest", {"events": [{"name": "api_call", "external_customer_id": "early-1"}] * 2}, format="json"
    )
    assert ingested.json() == {"inserted": 2, "duplicates": 0}
    customer = api_client.post("/v1/customers/", {"email": "early@example.com", "external_id": "early-1"}, format="json").json()
    events = api_client.get("/v1/events/", {"customer_id": customer["id"]}).json()
    assert events["pagination"]["total_count"] == 2
    assert {event["customer_id"] for event in events["items"]} == {customer["id"]}
