"""Customer seats through both SDKs: assign within the paid seats, list, resend, read the claim, claim
(the holder's benefits), revoke; another organization's seat is a 404, bad input a 422."""

import re

import pytest
from django.core import mail
from polar_sdk import models as m032

from billing.catalog.services import product_benefits_set
from billing.subscriptions import lifecycle
from tests.factories.customers import CustomerFactory
from tests.factories.payments import attach_card
from tests.factories.subscriptions import custom_benefit, seat_product

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


@pytest.fixture
def team_subscription(contract_organization):
    product = seat_product(contract_organization, price_per_seat=500, min_seats=1, max_seats=10)
    product_benefits_set(product=product, benefits=[custom_benefit(contract_organization).id])
    buyer = CustomerFactory(organization=contract_organization, email="buyer@example.com")
    attach_card(buyer)
    return lifecycle.subscription_create(organization=contract_organization, customer=buyer, product=product, seats=2)


def _last_token() -> str:
    invitations = [message for message in mail.outbox if "seat" in message.subject]
    return re.search(r"token=([A-Za-z0-9_\-]+)", invitations[-1].body).group(1)


def test_032_seats(sdk032, sdk032_other, team_subscription):
    seat = sdk032.customer_seats.assign_seat(request={"subscription_id": str(team_subscription.id), "email": "dev@example.com"})
    assert isinstance(seat, m032.CustomerSeat) and seat.status == "pending" and seat.customer_email == "dev@example.com"
    listed = sdk032.customer_seats.list_seats(subscription_id=str(team_subscription.id))
    assert listed.total_seats == 2 and listed.available_seats == 1 and [s.id for s in listed.seats] == [seat.id]
    assert sdk032.customer_seats.resend_invitation(seat_id=seat.id).status == "pending"
    token = _last_token()
    info = sdk032.customer_seats.get_claim_info(invitation_token=token)
    assert info.product_name == "Team" and info.can_claim is True
    claimed = sdk032.customer_seats.claim_seat(request={"invitation_token": token})
    assert claimed.seat.status == "claimed" and claimed.customer_session_token
    with pytest.raises(m032.SDKError) as not_found:  # 0.32 has no typed 404 for seats
        sdk032_other.customer_seats.revoke_seat(seat_id=seat.id)
    assert not_found.value.status_code == 404
    with pytest.raises(m032.HTTPValidationError):
        sdk032.customer_seats.assign_seat(request={"email": "x@example.com"})
    revoked = sdk032.customer_seats.revoke_seat(seat_id=seat.id)
    assert revoked.status == "revoked" and revoked.revoked_at is not None


def test_10_seats(sdk10, contract_other_token, team_subscription):
    subscription_id = str(team_subscription.id)
    results = sdk10.run(
        op("customer_seats.assign_seat", subscription_id=subscription_id, email="dev@example.com", metadata={"team": "core"}),
        op("customer_seats.assign_seat", subscription_id=subscription_id, email="ops@example.com", immediate_claim=True),
        op("customer_seats.assign_seat", subscription_id=subscription_id, email="third@example.com"),
        op("customer_seats.list_seats", subscription_id=subscription_id),
        op("customer_seats.revoke_seat", "${0.id}", access_token=contract_other_token),
        op("customer_seats.list_seats", subscription_id=subscription_id, access_token=contract_other_token),
        op("customer_seats.assign_seat", email="no-container@example.com"),
        op("customer_seats.resend_invitation", "${1.id}"),
    )
    pending = ok(results[0])
    assert pending["__class__"] == "CustomerSeat" and pending["status"] == "pending"
    assert pending["seat_metadata"] == {"team": "core"}
    assert ok(results[1])["status"] == "claimed"
    failed(results[2], "CustomerSeatsAssignSeat400Error", 400)  # both seats are taken
    listed = ok(results[3])
    assert listed["__class__"] == "SeatsList" and (listed["total_seats"], listed["available_seats"]) == (2, 0)
    failed(results[4], "CustomerSeatsRevokeSeat404Error", 404)
    failed(results[5], "CustomerSeatsListSeats404Error", 404)
    failed(results[6], "HTTPValidationError", 422)
    failed(results[7], "CustomerSeatsResendInvitation400Error", 400)  # claimed, not pending

    token = _last_token()
    results = sdk10.run(
        op("customer_seats.get_claim_info", token),
        op("customer_seats.claim_seat", invitation_token=token),
        op("customer_seats.claim_seat", invitation_token=token),
        op("customer_seats.revoke_seat", pending["id"]),
    )
    info = ok(results[0])
    assert info["__class__"] == "SeatClaimInfo" and info["customer_email"] == "dev@example.com"
    claimed = ok(results[1])
    assert claimed["__class__"] == "CustomerSeatClaimResponse" and claimed["seat"]["status"] == "claimed"
    failed(results[2], "CustomerSeatsClaimSeat400Error", 400)
    assert ok(results[3])["status"] == "revoked"
