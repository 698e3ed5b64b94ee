"""Customer members through both SDKs: 0.32's ``customers.members`` and 1.0.2's (list, CRUD, the
external-id variants), tenant isolation and a bad input, parsed by the clients."""

import pytest
from polar_sdk import models as m032

from tests.factories.customers import TeamCustomerFactory

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


@pytest.fixture
def team(contract_organization):
    return TeamCustomerFactory(organization=contract_organization, name="Ops", external_id="team:1")


def test_032_members_crud(sdk032, sdk032_other, team):
    owner = sdk032.customers.members.create(id=str(team.id), member_create_from_customer={"email": "boss@example.com"})
    assert isinstance(owner, m032.Member) and owner.role == "owner" and owner.customer_id == str(team.id)
    member = sdk032.customers.members.create_external(
        external_id="team:1",
        member_create_from_customer={"email": "dev@example.com", "external_id": "m:1", "role": "billing_manager"},
    )
    assert member.role == "billing_manager" and member.external_id == "m:1"
    assert sdk032.customers.members.get(id=str(team.id), member_id=member.id).email == "dev@example.com"
    updated = sdk032.customers.members.update(id=str(team.id), member_id=member.id, member_update={"name": "Dev"})
    assert updated.name == "Dev" and updated.modified_at is not None
    via_external = sdk032.customers.members.update_external(
        external_id="team:1", member_external_id="m:1", member_update={"role": "member"}
    )
    assert via_external.role == "member"
    assert sdk032.customers.members.get_external(external_id="team:1", member_external_id="m:1").id == member.id
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.customers.members.get(id=str(team.id), member_id=member.id)
    with pytest.raises(m032.HTTPValidationError) as error:
        sdk032.customers.members.create(id=str(team.id), member_create_from_customer={"email": "not-an-email"})
    assert error.value.data.detail[0].loc == ["body", "email"]
    assert sdk032.customers.members.delete_external(external_id="team:1", member_external_id="m:1") is None
    with pytest.raises(m032.ResourceNotFound):
        sdk032.customers.members.get(id=str(team.id), member_id=member.id)
    with pytest.raises(m032.HTTPValidationError):  # the owner cannot be deleted
        sdk032.customers.members.delete(id=str(team.id), member_id=owner.id)


def test_10_members_crud(sdk10, contract_other_token, team):
    results = sdk10.run(
        op("customers.members.create", str(team.id), email="boss@example.com", name="Boss"),
        op("customers.members.create_external", "team:1", email="dev@example.com", external_id="m:1"),
        op("customers.members.list", str(team.id)),
        op("customers.members.list_external", "team:1", role="owner"),
        op("customers.members.get", str(team.id), "${1.id}"),
        op("customers.members.update", str(team.id), "${1.id}", name="Dev", role="billing_manager"),
        op("customers.members.get_external", "team:1", "m:1"),
        op("customers.members.update_external", "team:1", "m:1", role="owner"),
        op("customers.members.get", str(team.id), "${1.id}", access_token=contract_other_token),
        op("customers.members.create", str(team.id), email="not-an-email"),
        op("customers.members.delete", str(team.id), "${0.id}"),
        op("customers.members.delete_external", "team:1", "m:1"),
        op("customers.members.list", str(team.id)),
    )
    owner = ok(results[0])
    assert owner["__class__"] == "Member" and owner["role"] == "owner" and owner["name"] == "Boss"
    member = ok(results[1])
    assert member["role"] == "member" and member["external_id"] == "m:1"
    listed = ok(results[2])
    assert listed["__class__"] == "ListResourceMember" and listed["pagination"]["total_count"] == 2
    assert [m["id"] for m in ok(results[3])["items"]] == [owner["id"]]
    assert ok(results[4])["id"] == member["id"]
    updated = ok(results[5])
    assert (updated["name"], updated["role"]) == ("Dev", "billing_manager")
    assert ok(results[6])["name"] == "Dev"
    assert ok(results[7])["role"] == "owner"  # ownership transferred: the old owner is a billing manager now
    failed(results[8], "ResourceNotFound", 404)
    error = failed(results[9], "HTTPValidationError", 422)
    assert error["body"]["detail"][0]["loc"] == ["body", "email"]
    assert ok(results[10]) is None  # the former owner
    failed(results[11], "HTTPValidationError", 422)  # the owner cannot be deleted
    assert [m["id"] for m in ok(results[12])["items"]] == [member["id"]]
