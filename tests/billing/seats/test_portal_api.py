"""``customer_portal.seats`` and ``customer_portal.members.remove_member``: the buyer manages the seats of its
own subscription from the portal (assign, list, resend, revoke), a seat holder lists the subscriptions it
holds a claimed seat in, and removing a member revokes its seats. Another customer's ids answer 404."""

import re

import pytest
from django.core import mail

from billing.models import BenefitGrant, CustomerSeat
from billing.portal.sessions import customer_session_create
from customers.models import Member
from customers.services import member_create
from polar.webhooks.models import WebhookEvent
from tests.billing.portal.conftest import portal_client
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def buyer_portal(customer):
    return portal_client(customer_session_create(customer=customer)[1])


@pytest.fixture
def stranger(organization):
    return CustomerFactory(organization=organization, email="eve@example.com")


@pytest.fixture
def stranger_portal(stranger):
    return portal_client(customer_session_create(customer=stranger)[1])


def _assign(portal, subscription, **body):
    return portal.post("/v1/customer-portal/seats", {"subscription_id": str(subscription.id), **body}, format="json")


def _token(index=0) -> str:
    invitations = [message for message in mail.outbox if "seat" in message.subject]
    return re.search(r"token=([A-Za-z0-9_\-]+)", invitations[index].body).group(1)


def test_the_buyer_assigns_lists_resends_and_revokes(buyer_portal, anonymous_client, team_subscription, benefit):
    assigned = _assign(buyer_portal, team_subscription, email="dev@example.com", metadata={"team": "core"})
    assert assigned.status_code == 200, assigned.content
    seat = assigned.json()
    assert (seat["status"], seat["email"], seat["seat_metadata"]) == ("pending", "dev@example.com", {"team": "core"})
    assert WebhookEvent.objects.filter(type="customer_seat.assigned").count() == 1

    listed = buyer_portal.get("/v1/customer-portal/seats", {"subscription_id": str(team_subscription.id)})
    assert listed.status_code == 200
    body = listed.json()
    assert (body["total_seats"], body["available_seats"]) == (2, 1)
    assert [item["id"] for item in body["seats"]] == [seat["id"]]

    first_token = _token(0)
    resent = buyer_portal.post(f"/v1/customer-portal/seats/{seat['id']}/resend")
    assert resent.status_code == 200 and resent.json()["status"] == "pending"
    second_token = _token(1)
    assert second_token != first_token
    assert anonymous_client.get(f"/v1/customer-seats/claim/{first_token}").status_code == 400  # the old token is void

    claimed = anonymous_client.post("/v1/customer-seats/claim", {"invitation_token": second_token}, format="json")
    assert claimed.status_code == 200
    holder_id = claimed.json()["seat"]["customer_id"]
    grant = BenefitGrant.objects.get(customer_id=holder_id, benefit=benefit)
    not_pending = buyer_portal.post(f"/v1/customer-portal/seats/{seat['id']}/resend")
    assert not_pending.status_code == 400 and not_pending.json()["error"] == "SeatNotPending"

    revoked = buyer_portal.delete(f"/v1/customer-portal/seats/{seat['id']}")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    listed = buyer_portal.get("/v1/customer-portal/seats", {"subscription_id": str(team_subscription.id)}).json()
    assert listed["available_seats"] == 2


def test_seats_stay_bounded_from_the_portal(buyer_portal, team_subscription):
    assert _assign(buyer_portal, team_subscription, email="a@example.com").status_code == 200
    assert _assign(buyer_portal, team_subscription, email="b@example.com").status_code == 200
    full = _assign(buyer_portal, team_subscription, email="c@example.com")
    assert full.status_code == 400 and full.json()["error"] == "SeatNotAvailable"
    assert CustomerSeat.objects.count() == 2


def test_immediate_claim_is_for_the_organization_api_only(buyer_portal, team_subscription, organization):
    holder = CustomerFactory(organization=organization)
    response = _assign(buyer_portal, team_subscription, customer_id=str(holder.id), immediate_claim=True)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "immediate_claim"]
    assert not CustomerSeat.objects.exists() and not BenefitGrant.objects.filter(customer=holder).exists()


def test_another_customers_subscription_and_seats_are_404(buyer_portal, stranger_portal, team_subscription):
    seat = _assign(buyer_portal, team_subscription, email="dev@example.com").json()
    assert _assign(stranger_portal, team_subscription, email="x@example.com").status_code == 404
    listed = stranger_portal.get("/v1/customer-portal/seats", {"subscription_id": str(team_subscription.id)})
    assert listed.status_code == 404
    assert stranger_portal.delete(f"/v1/customer-portal/seats/{seat['id']}").status_code == 404
    assert stranger_portal.post(f"/v1/customer-portal/seats/{seat['id']}/resend").status_code == 404
    assert CustomerSeat.objects.get().status == "pending" and CustomerSeat.objects.count() == 1


def test_a_holder_cannot_manage_the_seat_it_holds(buyer_portal, anonymous_client, team_subscription):
    _assign(buyer_portal, team_subscription, email="dev@example.com")
    claimed = anonymous_client.post("/v1/customer-seats/claim", {"invitation_token": _token()}, format="json").json()
    holder_portal = portal_client(claimed["customer_session_token"])
    assert holder_portal.delete(f"/v1/customer-portal/seats/{claimed['seat']['id']}").status_code == 404
    assert CustomerSeat.objects.get().status == "claimed"


def test_claimed_subscriptions_list_what_the_holder_holds(buyer_portal, anonymous_client, team_subscription, stranger_portal):
    _assign(buyer_portal, team_subscription, email="dev@example.com")
    claimed = anonymous_client.post("/v1/customer-seats/claim", {"invitation_token": _token()}, format="json").json()
    holder_portal = portal_client(claimed["customer_session_token"])
    body = holder_portal.get("/v1/customer-portal/seats/subscriptions").json()
    assert [item["id"] for item in body["items"]] == [str(team_subscription.id)]
    assert body["pagination"] == {"total_count": 1, "max_page": 1}
    assert body["items"][0]["product"]["name"] == "Team" and "metadata" not in body["items"][0]
    # The buyer holds no seat; a stranger neither.
    assert buyer_portal.get("/v1/customer-portal/seats/subscriptions").json()["items"] == []
    assert stranger_portal.get("/v1/customer-portal/seats/subscriptions").json()["items"] == []
    # Once revoked, the subscription leaves the holder's list.
    buyer_portal.delete(f"/v1/customer-portal/seats/{claimed['seat']['id']}")
    assert holder_portal.get("/v1/customer-portal/seats/subscriptions").json()["items"] == []


def test_list_needs_exactly_one_container(buyer_portal):
    response = buyer_portal.get("/v1/customer-portal/seats")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "subscription_id"]


def test_removing_a_member_revokes_its_seats(buyer_portal, team_subscription, customer, benefit, anonymous_client):
    customer.type = "team"
    customer.save()
    owner, _ = member_create(customer=customer, email="ada@example.com")
    member, _ = member_create(customer=customer, email="dev@example.com")
    seat = _assign(buyer_portal, team_subscription, member_id=str(member.id)).json()
    anonymous_client.post("/v1/customer-seats/claim", {"invitation_token": _token()}, format="json")
    grant = BenefitGrant.objects.get(customer_id=seat["customer_id"], benefit=benefit)

    removed = buyer_portal.delete(f"/v1/customer-portal/members/{member.id}")
    assert removed.status_code == 204
    member.refresh_from_db()
    grant.refresh_from_db()
    assert member.deleted_at is not None and grant.revoked_at is not None
    assert CustomerSeat.objects.get(pk=seat["id"]).status == "revoked"
    assert WebhookEvent.objects.filter(type="member.deleted").count() == 1

    # The owner cannot be removed (422), and nothing of it is touched.
    refused = buyer_portal.delete(f"/v1/customer-portal/members/{owner.id}")
    assert refused.status_code == 422
    assert Member.objects.get(pk=owner.id).deleted_at is None


def test_removing_another_teams_member_is_404(buyer_portal, customer, organization):
    customer.type = "team"
    customer.save()
    other_team = CustomerFactory(organization=organization, type="team", email=None)
    foreign, _ = member_create(customer=other_team, email="x@example.com")
    assert buyer_portal.delete(f"/v1/customer-portal/members/{foreign.id}").status_code == 404
    foreign.refresh_from_db()
    assert foreign.deleted_at is None
