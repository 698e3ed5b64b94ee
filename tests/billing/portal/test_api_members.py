"""customer_portal.members: a team customer's members through its session; individuals have no team."""

import pytest

from billing.portal.sessions import customer_session_create
from customers.models import Member
from customers.services import member_create
from tests.billing.portal.conftest import portal_client
from tests.factories.customers import TeamCustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(organization):
    team = TeamCustomerFactory(organization=organization, name="Ops")
    member_create(customer=team, email="owner@example.com", name="Olga")
    return team


@pytest.fixture
def team_portal(team):
    return portal_client(customer_session_create(customer=team)[1])


def test_list_add_and_update_members(team_portal, team):
    body = team_portal.get("/v1/customer-portal/members").json()
    assert [(m["email"], m["role"]) for m in body["items"]] == [("owner@example.com", "owner")]
    added = team_portal.post("/v1/customer-portal/members", {"email": "dev@example.com", "name": "Dev"}, format="json")
    assert added.status_code == 201, added.json()
    assert (added.json()["email"], added.json()["role"]) == ("dev@example.com", "member")
    again = team_portal.post("/v1/customer-portal/members", {"email": "DEV@example.com"}, format="json")
    assert again.json()["id"] == added.json()["id"]  # idempotent by email, as on Polar
    updated = team_portal.patch(f"/v1/customer-portal/members/{added.json()['id']}", {"role": "billing_manager"}, format="json")
    assert updated.json()["role"] == "billing_manager"
    assert Member.objects.filter(customer=team, deleted_at__isnull=True).count() == 2


def test_adding_an_owner_is_422(team_portal):
    response = team_portal.post("/v1/customer-portal/members", {"email": "boss@example.com", "role": "owner"}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "role"]


def test_another_teams_member_is_404(team_portal, organization):
    other = TeamCustomerFactory(organization=organization, name="Other")
    foreign, _ = member_create(customer=other, email="x@example.com")
    response = team_portal.patch(f"/v1/customer-portal/members/{foreign.id}", {"name": "Hacked"}, format="json")
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.name is None


def test_individual_customers_have_no_team(portal):
    response = portal.get("/v1/customer-portal/members")
    assert response.status_code == 403
    assert response.json()["error"] == "NotPermitted"
