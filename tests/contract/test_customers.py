"""Customers through both SDKs: each test drives one behaviour with 0.32.x (in process) and 1.0.x
(subprocess), and asserts on the models the SDKs parsed, not merely on the absence of an error."""

import uuid

import pytest
from polar_sdk import models as m032

from tests.factories.customers import CustomerFactory

from .harness import failed, ok, op

pytestmark = pytest.mark.contract

ADDRESS = {"line1": "1 Main St", "postal_code": "10115", "city": "Berlin", "country": "DE"}


# --- 0.32.x ---------------------------------------------------------------------------------------


def test_032_create_get_update_delete(sdk032, contract_organization):
    created = sdk032.customers.create(
        request={
            "email": "jane@example.com",
            "name": "Jane",
            "external_id": "u-1",
            "metadata": {"plan": "pro", "seats": 3, "beta": True},
            "billing_address": ADDRESS,
            "tax_id": "123456789",
        }
    )
    assert isinstance(created, m032.CustomerIndividual)
    assert created.TYPE == "individual"
    assert created.email == "jane@example.com"
    assert created.external_id == "u-1"
    assert created.metadata == {"plan": "pro", "seats": 3, "beta": True}
    assert created.organization_id == str(contract_organization.id)
    assert created.billing_address.country == "DE" and created.billing_address.city == "Berlin"
    assert created.tax_id == ["DE123456789", "eu_vat"]
    assert created.modified_at is None and created.deleted_at is None

    fetched = sdk032.customers.get(id=created.id)
    assert fetched.id == created.id and fetched.created_at == created.created_at

    updated = sdk032.customers.update(id=created.id, customer_update={"name": "Jane D.", "metadata": {"plan": "team"}})
    assert updated.name == "Jane D."
    assert updated.metadata == {"plan": "team"}
    assert updated.modified_at is not None

    assert sdk032.customers.delete(id=created.id) is None
    with pytest.raises(m032.ResourceNotFound):
        sdk032.customers.get(id=created.id)


def test_032_team_customer(sdk032):
    team = sdk032.customers.create(request={"type": "team", "name": "Ops team"})
    assert isinstance(team, m032.CustomerTeam)
    assert team.TYPE == "team" and team.name == "Ops team"


def test_032_list_paginates_with_next(sdk032, contract_organization):
    for index in range(3):
        CustomerFactory(organization=contract_organization, email=f"c{index}@example.com")
    page = sdk032.customers.list(limit=2, sorting=[m032.CustomerSortProperty.EMAIL])
    assert [c.email for c in page.result.items] == ["c0@example.com", "c1@example.com"]
    assert page.result.pagination.total_count == 3 and page.result.pagination.max_page == 2
    page = page.next()
    assert [c.email for c in page.result.items] == ["c2@example.com"]
    assert page.next() is None


def test_032_list_filters(sdk032, contract_organization):
    CustomerFactory(organization=contract_organization, email="pro@example.com", metadata={"plan": "pro"})
    CustomerFactory(organization=contract_organization, email="free@example.com", metadata={"plan": "free"})
    by_metadata = sdk032.customers.list(metadata={"plan": "pro"})
    assert [c.email for c in by_metadata.result.items] == ["pro@example.com"]
    by_email = sdk032.customers.list(email="FREE@example.com")
    assert [c.email for c in by_email.result.items] == ["free@example.com"]
    by_query = sdk032.customers.list(query="pro@")
    assert [c.email for c in by_query.result.items] == ["pro@example.com"]


def test_032_external_id_routes(sdk032):
    # An external id is one path segment, as on Polar (the SDK does not encode "/" in paths); ":" is fine.
    created = sdk032.customers.create(request={"email": "ext@example.com", "external_id": "user:42"})
    assert sdk032.customers.get_external(external_id="user:42").id == created.id
    updated = sdk032.customers.update_external(external_id="user:42", customer_update_external_id={"name": "By external id"})
    assert updated.name == "By external id" and updated.external_id == "user:42"
    state = sdk032.customers.get_state_external(external_id="user:42")
    assert isinstance(state, m032.CustomerStateIndividual) and state.id == created.id
    assert sdk032.customers.delete_external(external_id="user:42") is None
    with pytest.raises(m032.ResourceNotFound):
        sdk032.customers.get_external(external_id="user:42")


def test_032_state(sdk032):
    created = sdk032.customers.create(request={"email": "state@example.com"})
    state = sdk032.customers.get_state(id=created.id)
    assert isinstance(state, m032.CustomerStateIndividual)
    assert state.id == created.id and state.email == "state@example.com"
    assert state.active_subscriptions == [] and state.granted_benefits == [] and state.active_meters == []


def test_032_another_organizations_customer_is_resource_not_found(sdk032, contract_other_organization):
    foreign = CustomerFactory(organization=contract_other_organization, external_id="theirs")
    with pytest.raises(m032.ResourceNotFound) as excinfo:
        sdk032.customers.get(id=str(foreign.id))
    assert excinfo.value.data.detail == "Customer not found."
    with pytest.raises(m032.ResourceNotFound):
        sdk032.customers.update(id=str(foreign.id), customer_update={"name": "x"})
    with pytest.raises(m032.ResourceNotFound):
        sdk032.customers.get_external(external_id="theirs")
    with pytest.raises(m032.ResourceNotFound):
        sdk032.customers.delete(id=str(foreign.id))
    with pytest.raises(m032.ResourceNotFound):
        sdk032.customers.get_state(id=str(foreign.id))


def test_032_duplicate_email_is_http_validation_error(sdk032):
    sdk032.customers.create(request={"email": "dup@example.com"})
    with pytest.raises(m032.HTTPValidationError) as excinfo:
        sdk032.customers.create(request={"email": "DUP@example.com"})
    [error] = excinfo.value.data.detail
    assert error.loc == ["body", "email"]
    assert error.msg == "A customer with this email address already exists."


# --- 1.0.x ----------------------------------------------------------------------------------------


def test_10_create_get_update_delete(sdk10, contract_organization):
    results = sdk10.run(
        op(
            "customers.create",
            email="jane@example.com",
            name="Jane",
            external_id="u-1",
            metadata={"plan": "pro", "seats": 3, "beta": True},
            billing_address=ADDRESS,
            tax_id="123456789",
        ),
        op("customers.get", "${0.id}"),
        op("customers.update", "${0.id}", name="Jane D.", metadata={"plan": "team"}),
        op("customers.delete", "${0.id}"),
        op("customers.get", "${0.id}"),
    )
    created = ok(results[0])
    assert created["__class__"] == "CustomerIndividual"
    assert created["type"] == "individual"
    assert created["email"] == "jane@example.com" and created["external_id"] == "u-1"
    assert created["metadata"] == {"plan": "pro", "seats": 3, "beta": True}
    assert created["organization_id"] == str(contract_organization.id)
    assert created["billing_address"]["__class__"] == "Address"
    assert created["billing_address"]["country"] == "DE" and created["billing_address"]["line2"] is None
    assert created["tax_id"] == ["DE123456789", "eu_vat"]
    assert created["first_user_event_at"] is None and created["deleted_at"] is None
    fetched = ok(results[1])
    assert fetched["id"] == created["id"] and fetched["created_at"] == created["created_at"]
    updated = ok(results[2])
    assert updated["name"] == "Jane D." and updated["metadata"] == {"plan": "team"}
    assert updated["modified_at"] is not None
    assert ok(results[3]) is None
    failed(results[4], "ResourceNotFound", 404)


def test_10_team_customer(sdk10):
    team = sdk10.call("customers.create", type="team", name="Ops team")
    assert team["__class__"] == "CustomerTeam"
    assert team["type"] == "team" and team["email"] is None


def test_10_list_paginates(sdk10, contract_organization):
    for index in range(3):
        CustomerFactory(organization=contract_organization, email=f"c{index}@example.com")
    first, second, everything = sdk10.run(
        op("customers.list", limit=2, sorting=["email"]),
        op("customers.list", limit=2, page=2, sorting=["email"]),
        op("customers.iter_list", limit=2, sorting=["email"]),
    )
    first, second, everything = ok(first), ok(second), ok(everything)
    assert first["__class__"] == "ListResourceCustomer"
    assert [c["email"] for c in first["items"]] == ["c0@example.com", "c1@example.com"]
    assert first["pagination"]["total_count"] == 3 and first["pagination"]["max_page"] == 2
    assert [c["email"] for c in second["items"]] == ["c2@example.com"]
    assert [c["email"] for c in everything] == ["c0@example.com", "c1@example.com", "c2@example.com"]


def test_10_list_filters(sdk10, contract_organization):
    CustomerFactory(organization=contract_organization, email="pro@example.com", metadata={"plan": "pro"})
    CustomerFactory(organization=contract_organization, email="free@example.com", metadata={"plan": "free"})
    by_metadata, by_email, by_query = sdk10.run(
        op("customers.list", metadata={"plan": "pro"}),
        op("customers.list", email="FREE@example.com"),
        op("customers.list", query="pro@"),
    )
    assert [c["email"] for c in ok(by_metadata)["items"]] == ["pro@example.com"]
    assert [c["email"] for c in ok(by_email)["items"]] == ["free@example.com"]
    assert [c["email"] for c in ok(by_query)["items"]] == ["pro@example.com"]


def test_10_external_id_routes_and_state(sdk10):
    results = sdk10.run(
        op("customers.create", email="ext@example.com", external_id="user-42"),
        op("customers.get_external", "user-42"),
        op("customers.update_external", "user-42", name="By external id"),
        op("customers.get_state", "${0.id}"),
        op("customers.get_state_external", "user-42"),
        op("customers.delete_external", "user-42"),
        op("customers.get_external", "user-42"),
    )
    created = ok(results[0])
    assert ok(results[1])["id"] == created["id"]
    assert ok(results[2])["name"] == "By external id"
    state = ok(results[3])
    assert state["__class__"] == "CustomerStateIndividual"
    assert state["id"] == created["id"]
    assert state["active_subscriptions"] == [] and state["granted_benefits"] == [] and state["active_meters"] == []
    assert ok(results[4])["id"] == created["id"]
    assert ok(results[5]) is None
    failed(results[6], "ResourceNotFound", 404)


def test_10_another_organizations_customer_is_resource_not_found(sdk10, contract_other_organization):
    foreign = CustomerFactory(organization=contract_other_organization, external_id="theirs")
    results = sdk10.run(
        op("customers.get", str(foreign.id)),
        op("customers.update", str(foreign.id), name="x"),
        op("customers.get_external", "theirs"),
        op("customers.delete", str(foreign.id)),
        op("customers.get_state", str(foreign.id)),
    )
    errors = [failed(entry, "ResourceNotFound", 404) for entry in results]
    assert errors[0]["body"] == {"__class__": "ResourceNotFound", "error": "ResourceNotFound", "detail": "Customer not found."}


def test_10_duplicate_email_is_http_validation_error(sdk10):
    first, second = sdk10.run(
        op("customers.create", email="dup@example.com"),
        op("customers.create", email="DUP@example.com"),
    )
    ok(first)
    error = failed(second, "HTTPValidationError", 422)
    [detail] = error["body"]["detail"]
    assert detail["loc"] == ["body", "email"]
    assert detail["msg"] == "A customer with this email address already exists."


def test_10_malformed_id_is_http_validation_error(sdk10):
    error = failed(sdk10.run(op("customers.get", "not-a-uuid"))[0], "HTTPValidationError", 422)
    assert error["body"]["detail"][0]["loc"] == ["path", "id"]


def test_both_sdks_see_the_same_customer(sdk032, sdk10):
    created = sdk10.call("customers.create", email="both@example.com", external_id=f"both-{uuid.uuid4()}")
    assert sdk032.customers.get(id=created["id"]).email == "both@example.com"
