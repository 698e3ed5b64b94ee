"""``/v1/customers/{id}/members`` and the external-id variants: CRUD, Polar's owner rules, webhooks,
idempotency, tenant isolation, scopes and bad input."""

import uuid

import pytest

from customers.models import Customer, Member
from polar.organizations.services import access_token_create
from polar.webhooks.models import WebhookEvent
from tests.factories.customers import CustomerFactory, TeamCustomerFactory

pytestmark = pytest.mark.django_db

MEMBER_KEYS = {"id", "created_at", "modified_at", "customer_id", "email", "name", "external_id", "role"}


@pytest.fixture
def team(organization):
    return TeamCustomerFactory(organization=organization, name="Ops", external_id="team:1")


def _create(api_client, customer, **body):
    return api_client.post(f"/v1/customers/{customer.id}/members", body, format="json")


def test_first_member_is_the_owner_then_members_follow(api_client, team):
    first = _create(api_client, team, email="boss@example.com", name="Boss")
    assert first.status_code == 201, first.content
    assert set(first.json()) == MEMBER_KEYS
    assert first.json()["role"] == "owner"
    second = _create(api_client, team, email="dev@example.com", role="billing_manager", external_id="u2")
    assert second.status_code == 201
    assert second.json()["role"] == "billing_manager" and second.json()["external_id"] == "u2"
    listed = api_client.get(f"/v1/customers/{team.id}/members").json()
    assert listed["pagination"] == {"total_count": 2, "max_page": 1}
    assert [m["email"] for m in listed["items"]] == ["dev@example.com", "boss@example.com"]  # -created_at
    only_owner = api_client.get(f"/v1/customers/{team.id}/members", {"role": "owner"}).json()
    assert [m["email"] for m in only_owner["items"]] == ["boss@example.com"]
    types = list(WebhookEvent.objects.order_by("created_at").values_list("type", flat=True))
    assert types == ["member.created", "member.created"]
    assert WebhookEvent.objects.order_by("created_at").first().payload["data"] == first.json()


def test_create_with_an_existing_email_returns_that_member(api_client, team):
    first = _create(api_client, team, email="a@example.com").json()
    again = _create(api_client, team, email="A@example.com")
    assert again.status_code == 201 and again.json()["id"] == first["id"]
    assert Member.objects.count() == 1
    assert WebhookEvent.objects.filter(type="member.created").count() == 1


def test_individual_customer_has_only_its_owner(api_client, organization):
    customer = CustomerFactory(organization=organization)
    assert _create(api_client, customer, email="me@example.com").status_code == 201
    refused = _create(api_client, customer, email="other@example.com")
    assert refused.status_code == 403 and refused.json()["error"] == "NotPermitted"
    assert Member.objects.count() == 1


def test_duplicate_external_id_is_422(api_client, team):
    _create(api_client, team, email="a@example.com", external_id="x")
    response = _create(api_client, team, email="b@example.com", external_id="x")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "external_id"]


@pytest.mark.parametrize(
    "body,loc",
    [
        ({}, ["body", "email"]),
        ({"email": "not-an-email"}, ["body", "email"]),
        ({"email": "a@example.com", "role": "owner"}, ["body", "role"]),
        ({"email": "a@example.com", "role": "boss"}, ["body", "role"]),
    ],
)
def test_bad_create_input_is_422_and_writes_nothing(api_client, team, body, loc):
    response = _create(api_client, team, **body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc
    assert not Member.objects.exists()


def test_get_update_and_transfer_ownership(api_client, team):
    owner = _create(api_client, team, email="boss@example.com").json()
    member = _create(api_client, team, email="dev@example.com").json()
    url = f"/v1/customers/{team.id}/members/{member['id']}"
    assert api_client.get(url).json() == member
    renamed = api_client.patch(url, {"name": "Dev", "email": "dev2@example.com"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Dev" and renamed.json()["email"] == "dev2@example.com"
    promoted = api_client.patch(url, {"role": "owner"}, format="json")
    assert promoted.status_code == 200 and promoted.json()["role"] == "owner"
    assert Member.objects.get(pk=owner["id"]).role == "billing_manager"
    demote_last_owner = api_client.patch(url, {"role": "member"}, format="json")
    assert demote_last_owner.status_code == 422
    assert demote_last_owner.json()["detail"][0]["loc"] == ["body", "role"]


def test_update_email_taken_is_422(api_client, team):
    _create(api_client, team, email="a@example.com")
    b = _create(api_client, team, email="b@example.com").json()
    response = api_client.patch(f"/v1/customers/{team.id}/members/{b['id']}", {"email": "A@example.com"}, format="json")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "email"]


def test_delete_member_and_not_the_owner(api_client, team):
    owner = _create(api_client, team, email="boss@example.com").json()
    member = _create(api_client, team, email="dev@example.com").json()
    assert api_client.delete(f"/v1/customers/{team.id}/members/{member['id']}").status_code == 204
    assert api_client.get(f"/v1/customers/{team.id}/members/{member['id']}").status_code == 404
    refused = api_client.delete(f"/v1/customers/{team.id}/members/{owner['id']}")
    assert refused.status_code == 422
    assert Member.objects.get(pk=owner["id"]).deleted_at is None
    assert WebhookEvent.objects.filter(type="member.deleted").count() == 1
    # The email is free again.
    assert _create(api_client, team, email="dev@example.com").json()["id"] != member["id"]


def test_external_id_routes(api_client, team):
    created = api_client.post(
        "/v1/customers/external/team:1/members", {"email": "a@example.com", "external_id": "m:1"}, format="json"
    )
    assert created.status_code == 201 and created.json()["customer_id"] == str(team.id)
    api_client.post("/v1/customers/external/team:1/members", {"email": "b@example.com", "external_id": "m:2"}, format="json")
    listed = api_client.get("/v1/customers/external/team:1/members").json()
    assert {m["external_id"] for m in listed["items"]} == {"m:1", "m:2"}
    got = api_client.get("/v1/customers/external/team:1/members/m:2")
    assert got.status_code == 200 and got.json()["email"] == "b@example.com"
    patched = api_client.patch("/v1/customers/external/team:1/members/m:2", {"name": "Bee"}, format="json")
    assert patched.json()["name"] == "Bee"
    assert api_client.delete("/v1/customers/external/team:1/members/m:2").status_code == 204
    assert api_client.get("/v1/customers/external/team:1/members/m:2").status_code == 404
    assert api_client.get("/v1/customers/external/nobody/members").status_code == 404


def test_another_organization_sees_404(api_client, other_api_client, team):
    member = _create(api_client, team, email="a@example.com").json()
    url = f"/v1/customers/{team.id}/members/{member['id']}"
    assert other_api_client.get(url).status_code == 404
    assert other_api_client.patch(url, {"name": "x"}, format="json").status_code == 404
    assert other_api_client.delete(url).status_code == 404
    assert other_api_client.get(f"/v1/customers/{team.id}/members").status_code == 404
    assert other_api_client.post(f"/v1/customers/{team.id}/members", {"email": "z@example.com"}, format="json").status_code == 404
    assert other_api_client.get("/v1/customers/external/team:1/members/x").status_code == 404
    assert Member.objects.count() == 1 and Member.objects.get().name is None


def test_a_member_of_another_customer_is_404(api_client, organization, team):
    other = TeamCustomerFactory(organization=organization)
    member = _create(api_client, other, email="a@example.com").json()
    assert api_client.get(f"/v1/customers/{team.id}/members/{member['id']}").status_code == 404
    assert api_client.get(f"/v1/customers/{team.id}/members/{uuid.uuid4()}").status_code == 404
    assert api_client.get(f"/v1/customers/{team.id}/members/not-a-uuid").status_code == 422


def test_idempotency_key_replays_the_create(api_client, team):
    headers = {"HTTP_IDEMPOTENCY_KEY": "member-create-1"}
    first = api_client.post(f"/v1/customers/{team.id}/members", {"email": "a@example.com"}, format="json", **headers)
    second = api_client.post(f"/v1/customers/{team.id}/members", {"email": "a@example.com"}, format="json", **headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert WebhookEvent.objects.filter(type="member.created").count() == 1


def test_scopes(organization, team):
    from rest_framework.test import APIClient

    _row, raw = access_token_create(organization=organization, comment="read", scopes=["members:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(f"/v1/customers/{team.id}/members").status_code == 200
    assert client.post(f"/v1/customers/{team.id}/members", {"email": "a@example.com"}, format="json").status_code == 403


def test_customer_create_with_owner_and_delete_removes_members(api_client):
    response = api_client.post(
        "/v1/customers/", {"type": "team", "name": "Co", "owner": {"email": "own@example.com", "name": "Own"}}, format="json"
    )
    assert response.status_code == 201, response.content
    customer = Customer.objects.get(pk=response.json()["id"])
    owner = Member.objects.get(customer=customer)
    assert owner.role == "owner" and owner.email == "own@example.com"
    assert api_client.delete(f"/v1/customers/{customer.id}").status_code == 204
    owner.refresh_from_db()
    assert owner.deleted_at is not None
    types = list(WebhookEvent.objects.order_by("created_at", "id").values_list("type", flat=True))
    assert types == ["customer.created", "member.created", "member.deleted", "customer.deleted"]
