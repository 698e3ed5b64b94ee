"""When a seat-based subscription ends (revoked now, or canceled at the end of its period), its seats end
with it: claimed holders lose their grants, pending invitations stop working, each seat emits
``customer_seat.revoked`` and each grant ``benefit_grant.revoked``; once, however often it is called."""

import datetime as dt
import re

import pytest
from django.core import mail

from billing.models import BenefitGrant, CustomerSeat, SeatStatus, SubscriptionStatus
from billing.renewals import cycle as renewals
from billing.seats.services import seats_revoke_for_ended_subscription
from billing.subscriptions import lifecycle
from polar import clock
from polar.webhooks.models import WebhookEvent
from tests.billing.subscription_fixtures import T0
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card

pytestmark = pytest.mark.django_db(transaction=True)


def _seat_up(api_client, subscription, organization):
    """One claimed seat (a holder with the product's benefit) and one pending invitation; returns
    (holder, pending invitation token)."""
    holder = CustomerFactory(organization=organization, email="holder@example.com")
    body = {"subscription_id": str(subscription.id), "customer_id": str(holder.id), "immediate_claim": True}
    assert api_client.post("/v1/customer-seats", body, format="json").status_code == 200
    body = {"subscription_id": str(subscription.id), "email": "invited@example.com"}
    assert api_client.post("/v1/customer-seats", body, format="json").status_code == 200
    [invitation] = [message for message in mail.outbox if message.to == ["invited@example.com"]]
    return holder, re.search(r"token=([A-Za-z0-9_\-]+)", invitation.body).group(1)


def _live_grants(customer):
    return BenefitGrant.objects.filter(customer=customer, revoked_at__isnull=True).count()


def _count(type_):
    return WebhookEvent.objects.filter(type=type_).count()


def test_revoking_the_subscription_revokes_every_seat_and_the_holders_grants(
    api_client, anonymous_client, organization, customer, team_subscription, benefit
):
    holder, token = _seat_up(api_client, team_subscription, organization)
    assert (_live_grants(holder), _live_grants(customer)) == (1, 1)
    revoked_grants_before = _count("benefit_grant.revoked")

    response = api_client.delete(f"/v1/subscriptions/{team_subscription.id}")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == SubscriptionStatus.CANCELED

    assert (_live_grants(holder), _live_grants(customer)) == (0, 0)
    seats = list(CustomerSeat.objects.filter(subscription=team_subscription).order_by("created_at"))
    assert [seat.status for seat in seats] == [SeatStatus.REVOKED, SeatStatus.REVOKED]
    assert all(seat.revoked_at is not None and seat.invitation_token_hash is None for seat in seats)
    assert _count("customer_seat.revoked") == 2
    assert _count("benefit_grant.revoked") - revoked_grants_before == 2  # the holder's and the buyer's
    revoked_seat_ids = {e.payload["data"]["id"] for e in WebhookEvent.objects.filter(type="customer_seat.revoked")}
    assert revoked_seat_ids == {str(seat.id) for seat in seats}
    assert api_client.get(f"/v1/customers/{holder.id}/state").json()["granted_benefits"] == []

    # The invitation no longer opens a seat, and the seats read as revoked.
    claim = anonymous_client.post("/v1/customer-seats/claim", {"invitation_token": token}, format="json")
    assert claim.status_code == 400 and claim.json()["error"] == "InvalidInvitationToken"
    listed = api_client.get("/v1/customer-seats", {"subscription_id": str(team_subscription.id)}).json()
    assert {seat["status"] for seat in listed["seats"]} == {"revoked"}

    # Idempotent: nothing more to revoke, nothing more emitted.
    assert seats_revoke_for_ended_subscription(team_subscription) == []
    assert api_client.delete(f"/v1/subscriptions/{team_subscription.id}").status_code == 403
    assert (_count("customer_seat.revoked"), _count("benefit_grant.revoked") - revoked_grants_before) == (2, 2)


def test_canceling_at_period_end_keeps_the_seats_until_the_period_ends(api_client, organization, customer, team_subscription):
    holder, _token = _seat_up(api_client, team_subscription, organization)
    canceled = api_client.patch(f"/v1/subscriptions/{team_subscription.id}", {"cancel_at_period_end": True}, format="json")
    assert canceled.status_code == 200, canceled.content
    assert _live_grants(holder) == 1 and _count("customer_seat.revoked") == 0
    assert CustomerSeat.objects.filter(subscription=team_subscription, status=SeatStatus.REVOKED).count() == 0

    team_subscription.refresh_from_db()
    with clock.freeze(team_subscription.current_period_end + dt.timedelta(minutes=1)):
        renewals.subscription_cycle(subscription_id=team_subscription.id)
        renewals.subscription_cycle(subscription_id=team_subscription.id)  # a retried task: nothing twice
    team_subscription.refresh_from_db()
    assert team_subscription.status == SubscriptionStatus.CANCELED
    assert (_live_grants(holder), _live_grants(customer)) == (0, 0)
    assert CustomerSeat.objects.filter(subscription=team_subscription).exclude(status=SeatStatus.REVOKED).count() == 0
    assert _count("customer_seat.revoked") == 2


def test_seats_of_another_subscription_are_left_alone(api_client, organization, team_subscription, team_product):
    buyer = CustomerFactory(organization=organization, email="other-buyer@example.com")
    attach_card(buyer)
    with clock.freeze(T0):
        other = lifecycle.subscription_create(organization=organization, customer=buyer, product=team_product, seats=1)
    keeper = CustomerFactory(organization=organization, email="keeper@example.com")
    body = {"subscription_id": str(other.id), "customer_id": str(keeper.id), "immediate_claim": True}
    assert api_client.post("/v1/customer-seats", body, format="json").status_code == 200
    assert api_client.delete(f"/v1/subscriptions/{team_subscription.id}").status_code == 200
    assert _live_grants(keeper) == 1
    assert CustomerSeat.objects.get(subscription=other).status == SeatStatus.CLAIMED
