"""``/v1/customer-seats``: assign within the paid seats, claim by invitation (grants the product's benefits
to the holder), revoke (takes them back), resend, the invitation e-mail, tenant isolation, bad input."""

import re

import pytest
from django.core import mail

from billing.models import BenefitGrant, CustomerSeat
from customers.models import Customer
from polar.webhooks.models import WebhookEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)

SEAT_KEYS = {
    "created_at", "modified_at", "id", "subscription_id", "order_id", "status", "customer_id", "member_id", "member",
    "email", "customer_email", "invitation_token_expires_at", "claimed_at", "revoked_at", "seat_metadata",
}  # fmt: skip


def _assign(api_client, subscription, **body):
    return api_client.post("/v1/customer-seats", {"subscription_id": str(subscription.id), **body}, format="json")


def _invitations():
    return [message for message in mail.outbox if "seat" in message.subject]  # not the buyer's receipt


def _token_from_mail(message) -> str:
    return re.search(r"token=([A-Za-z0-9_\-]+)", message.body).group(1)


def test_assign_sends_an_invitation_and_claim_grants_the_benefits(api_client, anonymous_client, team_subscription, benefit):
    response = _assign(api_client, team_subscription, email="dev@example.com", metadata={"team": "core"})
    assert response.status_code == 200, response.content
    seat = response.json()
    assert set(seat) == SEAT_KEYS
    assert seat["status"] == "pending" and seat["customer_email"] == "dev@example.com"
    assert seat["seat_metadata"] == {"team": "core"} and seat["invitation_token_expires_at"]
    holder = Customer.objects.get(email="dev@example.com")  # created for the seat
    assert seat["customer_id"] == str(holder.id)
    assert WebhookEvent.objects.filter(type="customer_seat.assigned").count() == 1

    [message] = _invitations()
    assert message.to == ["dev@example.com"] and "Team" in message.subject
    token = _token_from_mail(message)

    info = anonymous_client.get(f"/v1/customer-seats/claim/{token}")
    assert info.status_code == 200
    assert info.json()["product_name"] == "Team" and info.json()["can_claim"] is True
    assert info.json()["customer_email"] == "dev@example.com"
    assert not BenefitGrant.objects.filter(customer=holder).exists()  # reading claims nothing

    claimed = anonymous_client.post("/v1/customer-seats/claim", {"invitation_token": token}, format="json")
    assert claimed.status_code == 200, claimed.content
    assert claimed.json()["seat"]["status"] == "claimed" and claimed.json()["customer_session_token"]
    grant = BenefitGrant.objects.get(customer=holder)
    assert grant.benefit_id == benefit.id and grant.subscription_id == team_subscription.id and grant.granted_at
    assert WebhookEvent.objects.filter(type="customer_seat.claimed").count() == 1

    again = anonymous_client.post("/v1/customer-seats/claim", {"invitation_token": token}, format="json")
    assert again.status_code == 400 and again.json()["error"] == "InvalidInvitationToken"
    assert anonymous_client.get(f"/v1/customer-seats/claim/{token}").status_code == 400

    listed = api_client.get("/v1/customer-seats", {"subscription_id": str(team_subscription.id)}).json()
    assert listed["total_seats"] == 2 and listed["available_seats"] == 1
    assert [s["status"] for s in listed["seats"]] == ["claimed"]

    revoked = api_client.delete(f"/v1/customer-seats/{seat['id']}")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked" and revoked.json()["revoked_at"]
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert WebhookEvent.objects.filter(type="customer_seat.revoked").count() == 1
    # Idempotent, and the seat is free again.
    assert api_client.delete(f"/v1/customer-seats/{seat['id']}").status_code == 200
    assert WebhookEvent.objects.filter(type="customer_seat.revoked").count() == 1
    listed = api_client.get("/v1/customer-seats", {"subscription_id": str(team_subscription.id)}).json()
    assert listed["available_seats"] == 2


def test_seats_are_bounded_by_the_subscription(api_client, team_subscription):
    assert _assign(api_client, team_subscription, email="a@example.com").status_code == 200
    assert _assign(api_client, team_subscription, email="b@example.com").status_code == 200
    full = _assign(api_client, team_subscription, email="c@example.com")
    assert full.status_code == 400 and full.json()["error"] == "SeatNotAvailable"
    assert CustomerSeat.objects.count() == 2
    assert not Customer.objects.filter(email="c@example.com").exists()


def test_one_live_seat_per_holder(api_client, team_subscription, organization):
    holder = CustomerFactory(organization=organization, external_id="u:9")
    assert _assign(api_client, team_subscription, customer_id=str(holder.id)).status_code == 200
    twice = _assign(api_client, team_subscription, external_customer_id="u:9")
    assert twice.status_code == 400 and twice.json()["error"] == "SeatAlreadyAssigned"


def test_immediate_claim_grants_at_once_and_sends_no_mail(api_client, team_subscription, organization, benefit):
    holder = CustomerFactory(organization=organization)
    seat = _assign(api_client, team_subscription, customer_id=str(holder.id), immediate_claim=True).json()
    assert seat["status"] == "claimed" and seat["claimed_at"] and seat["invitation_token_expires_at"] is None
    assert BenefitGrant.objects.filter(customer=holder, benefit=benefit, revoked_at__isnull=True).count() == 1
    assert _invitations() == []


def test_resend_issues_a_new_token(api_client, anonymous_client, team_subscription):
    seat = _assign(api_client, team_subscription, email="dev@example.com").json()
    old = _token_from_mail(_invitations()[0])
    resent = api_client.post(f"/v1/customer-seats/{seat['id']}/resend")
    assert resent.status_code == 200 and resent.json()["status"] == "pending"
    new = _token_from_mail(_invitations()[1])
    assert new != old
    assert anonymous_client.get(f"/v1/customer-seats/claim/{old}").status_code == 400
    assert anonymous_client.post("/v1/customer-seats/claim", {"invitation_token": new}, format="json").status_code == 200
    not_pending = api_client.post(f"/v1/customer-seats/{seat['id']}/resend")
    assert not_pending.status_code == 400 and not_pending.json()["error"] == "SeatNotPending"


def test_assign_by_member_of_the_buyer(api_client, team_subscription, customer):
    customer.type = "team"
    customer.save()
    seat = _assign(api_client, team_subscription, external_member_id="m:1", email="mem@example.com")
    assert seat.status_code == 200, seat.content
    body = seat.json()
    assert body["member"]["email"] == "mem@example.com" and body["member"]["customer_id"] == str(customer.id)
    assert body["member"]["external_id"] == "m:1" and body["email"] == "mem@example.com"
    assert body["customer_id"] == str(Customer.objects.get(email="mem@example.com").id)  # the holder
    mismatch = _assign(api_client, team_subscription, external_member_id="m:1", email="other@example.com")
    assert mismatch.status_code == 400 and mismatch.json()["error"] == "MemberEmailMismatch"
    unknown = _assign(api_client, team_subscription, external_member_id="m:404")
    assert unknown.status_code == 404


def test_deleting_a_member_revokes_its_seat(api_client, team_subscription, customer):
    customer.type = "team"
    customer.save()
    api_client.post(f"/v1/customers/{customer.id}/members", {"email": "boss@example.com"}, format="json")
    member = api_client.post(f"/v1/customers/{customer.id}/members", {"email": "dev@example.com"}, format="json").json()
    seat = _assign(api_client, team_subscription, member_id=member["id"]).json()
    assert seat["member_id"] == member["id"]
    assert api_client.delete(f"/v1/customers/{customer.id}/members/{member['id']}").status_code == 204
    assert CustomerSeat.objects.get(pk=seat["id"]).status == "revoked"


@pytest.mark.parametrize(
    "body,loc",
    [
        ({}, ["body", "subscription_id"]),
        ({"subscription_id": "nope"}, ["body", "subscription_id"]),
        (
            {"subscription_id": "00000000-0000-0000-0000-000000000001", "order_id": "00000000-0000-0000-0000-000000000002"},
            ["body", "subscription_id"],
        ),
        ({"subscription_id": "00000000-0000-0000-0000-000000000001", "email": "bad"}, ["body", "email"]),
    ],
)
def test_bad_input_is_422(api_client, body, loc):
    response = api_client.post("/v1/customer-seats", body, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_ambiguous_target_is_400_and_writes_nothing(api_client, team_subscription):
    response = _assign(api_client, team_subscription, email="a@example.com", external_customer_id="x")
    assert response.status_code == 400 and response.json()["error"] == "InvalidSeatAssignmentRequest"
    assert not CustomerSeat.objects.exists()


def test_a_subscription_that_is_not_seat_based_has_no_seats(api_client, organization, customer, product, card):
    from billing.subscriptions import lifecycle

    subscription = lifecycle.subscription_create(organization=organization, customer=customer, product=product)
    response = _assign(api_client, subscription, email="a@example.com")
    assert response.status_code == 400 and response.json()["error"] == "SeatNotAvailable"


def test_another_organization_sees_404(api_client, other_api_client, team_subscription):
    seat = _assign(api_client, team_subscription, email="a@example.com").json()
    assert _assign(other_api_client, team_subscription, email="b@example.com").status_code == 404
    assert other_api_client.get("/v1/customer-seats", {"subscription_id": str(team_subscription.id)}).status_code == 404
    assert other_api_client.delete(f"/v1/customer-seats/{seat['id']}").status_code == 404
    assert other_api_client.post(f"/v1/customer-seats/{seat['id']}/resend").status_code == 404
    assert CustomerSeat.objects.get().status == "pending"


def test_idempotency_key_replays_the_assignment(api_client, team_subscription):
    headers = {"HTTP_IDEMPOTENCY_KEY": "seat-1"}
    body = {"subscription_id": str(team_subscription.id), "email": "a@example.com"}
    first = api_client.post("/v1/customer-seats", body, format="json", **headers)
    second = api_client.post("/v1/customer-seats", body, format="json", **headers)
    assert first.json() == second.json()
    assert CustomerSeat.objects.count() == 1 and len(_invitations()) == 1


def test_claim_page_claims_and_sends_to_the_portal(client, api_client, team_subscription):
    _assign(api_client, team_subscription, email="dev@example.com")
    token = _token_from_mail(_invitations()[0])
    page = client.get("/seats/claim", {"token": token})
    assert page.status_code == 200 and b"Claim my seat" in page.content
    assert CustomerSeat.objects.get().status == "pending"
    posted = client.post("/seats/claim", {"token": token})
    assert posted.status_code == 302 and "customer_session_token=" in posted["Location"]
    assert CustomerSeat.objects.get().status == "claimed"
    assert client.get("/seats/claim", {"token": "wrong"}).status_code == 400
