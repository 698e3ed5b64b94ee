"""``customer_portal.seats`` and ``customer_portal.members.remove_member`` through polar-sdk 1.0.2 (each API
version) and 0.32, with the buyer's customer session: assign, list, resend, revoke, the holder's claimed
subscriptions; another customer's subscription and seats answer 404."""

import re

import pytest
from django.core import mail
from polar_sdk import models as m032

from billing.catalog.services import product_benefits_set
from billing.portal.sessions import customer_session_create
from billing.seats.services import seat_claim
from billing.subscriptions import lifecycle
from customers.services import member_create
from tests.factories.customers import CustomerFactory
from tests.factories.payments import attach_card
from tests.factories.subscriptions import custom_benefit, seat_product

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


@pytest.fixture
def buyer(contract_organization):
    return CustomerFactory(organization=contract_organization, email="buyer@example.com", type="team")


@pytest.fixture
def team_subscription(contract_organization, buyer):
    product = seat_product(contract_organization, price_per_seat=500, min_seats=1, max_seats=10)
    product_benefits_set(product=product, benefits=[custom_benefit(contract_organization).id])
    attach_card(buyer)
    return lifecycle.subscription_create(organization=contract_organization, customer=buyer, product=product, seats=2)


@pytest.fixture
def buyer_token(buyer):
    return customer_session_create(customer=buyer)[1]


@pytest.fixture
def stranger_token(contract_organization):
    stranger = CustomerFactory(organization=contract_organization, email="eve@example.com")
    return customer_session_create(customer=stranger)[1]


def _last_token() -> str:
    invitations = [message for message in mail.outbox if "seat" in message.subject]
    return re.search(r"token=([A-Za-z0-9_\-]+)", invitations[-1].body).group(1)


def test_10_portal_seats(sdk10, team_subscription, buyer_token, stranger_token):
    subscription_id = str(team_subscription.id)
    results = sdk10.run(
        op(
            "customer_portal.seats.assign_seat",
            subscription_id=subscription_id,
            email="dev@example.com",
            access_token=buyer_token,
        ),
        op(
            "customer_portal.seats.assign_seat",
            subscription_id=subscription_id,
            email="ops@example.com",
            access_token=buyer_token,
        ),
        op("customer_portal.seats.assign_seat", subscription_id=subscription_id, email="x@example.com", access_token=buyer_token),
        op("customer_portal.seats.list_seats", subscription_id=subscription_id, access_token=buyer_token),
        op("customer_portal.seats.resend_invitation", "${0.id}", access_token=buyer_token),
        op("customer_portal.seats.list_seats", subscription_id=subscription_id, access_token=stranger_token),
        op("customer_portal.seats.revoke_seat", "${0.id}", access_token=stranger_token),
        op(
            "customer_portal.seats.assign_seat",
            subscription_id=subscription_id,
            email="y@example.com",
            access_token=stranger_token,
        ),
        op("customer_portal.seats.revoke_seat", "${1.id}", access_token=buyer_token),
    )
    pending = ok(results[0])
    assert pending["__class__"] == "CustomerSeat" and (pending["status"], pending["email"]) == ("pending", "dev@example.com")
    failed(results[2], "CustomerPortalSeatsAssignSeat400Error", 400)  # both seats are taken
    listed = ok(results[3])
    assert listed["__class__"] == "SeatsList" and (listed["total_seats"], listed["available_seats"]) == (2, 0)
    assert ok(results[4])["status"] == "pending"
    failed(results[5], "CustomerPortalSeatsListSeats404Error", 404)
    failed(results[6], "CustomerPortalSeatsRevokeSeat404Error", 404)
    failed(results[7], "CustomerPortalSeatsAssignSeat404Error", 404)
    revoked = ok(results[8])
    assert revoked["status"] == "revoked" and revoked["revoked_at"] is not None

    seat, holder_token = seat_claim(invitation_token=_last_token())  # dev@ accepts the resent invitation
    claimed, not_pending, strangers = sdk10.run(
        op("customer_portal.seats.list_claimed_subscriptions", access_token=holder_token),
        op("customer_portal.seats.resend_invitation", str(seat.id), access_token=buyer_token),
        op("customer_portal.seats.list_claimed_subscriptions", access_token=stranger_token),
    )
    page = ok(claimed)
    assert page["__class__"] == "ListResourceCustomerSubscription"
    assert [item["id"] for item in page["items"]] == [subscription_id]
    assert page["items"][0]["__class__"] == "CustomerSubscription"
    failed(not_pending, "CustomerPortalSeatsResendInvitation400Error", 400)
    assert ok(strangers)["items"] == []


def test_10_remove_member_revokes_its_seats(sdk10, team_subscription, buyer, buyer_token, stranger_token):
    member_create(customer=buyer, email="buyer@example.com")  # the owner
    member, _ = member_create(customer=buyer, email="dev@example.com")
    assigned, foreign, removed, again = sdk10.run(
        op(
            "customer_portal.seats.assign_seat",
            subscription_id=str(team_subscription.id),
            member_id=str(member.id),
            access_token=buyer_token,
        ),
        op("customer_portal.members.remove_member", str(member.id), access_token=stranger_token),
        op("customer_portal.members.remove_member", str(member.id), access_token=buyer_token),
        op("customer_portal.seats.list_seats", subscription_id=str(team_subscription.id), access_token=buyer_token),
    )
    assert ok(assigned)["member_id"] == str(member.id)
    failed(foreign, "CustomerPortalMembersRemoveMember403Error", 403)  # an individual customer has no team
    assert ok(removed) is None
    assert [seat["status"] for seat in ok(again)["seats"]] == ["revoked"]
    assert ok(again)["available_seats"] == 2


def test_032_portal_seats(sdk032, team_subscription, buyer_token, stranger_token):
    buyer = {"customer_session": buyer_token}
    seat = sdk032.customer_portal.seats.assign_seat(
        security=buyer, request={"subscription_id": str(team_subscription.id), "email": "dev@example.com"}
    )
    assert isinstance(seat, m032.CustomerSeat) and seat.status == "pending"
    listed = sdk032.customer_portal.seats.list_seats(security=buyer, subscription_id=str(team_subscription.id))
    assert (listed.total_seats, listed.available_seats) == (2, 1)
    assert sdk032.customer_portal.seats.resend_invitation(security=buyer, seat_id=seat.id).status == "pending"
    with pytest.raises(m032.SDKError) as not_found:
        sdk032.customer_portal.seats.revoke_seat(security={"customer_session": stranger_token}, seat_id=seat.id)
    assert not_found.value.status_code == 404
    _seat, holder_token = seat_claim(invitation_token=_last_token())
    claimed = sdk032.customer_portal.seats.list_claimed_subscriptions(security={"customer_session": holder_token})
    assert [item.id for item in claimed.result.items] == [str(team_subscription.id)]
    revoked = sdk032.customer_portal.seats.revoke_seat(security=buyer, seat_id=seat.id)
    assert revoked.status == "revoked"
