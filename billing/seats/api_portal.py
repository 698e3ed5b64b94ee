"""``/v1/customer-portal/seats`` (Polar's ``customer_portal.seats``) and the member removal of
``/v1/customer-portal/members/{id}``: the buyer of a seat-based subscription (or one-time order) hands out,
resends and revokes its seats from the portal, and a seat holder lists the subscriptions it holds a seat in.

The views live here, not in ``billing.portal``: the seat services already import the portal's sessions
(a claim opens one), so the portal cannot import the seats back. Every read is scoped to the session's
customer: a seat or container of another customer (or organization) answers 404, as on Polar."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from billing.portal import selectors as portal_selectors
from billing.portal.api import PortalAPIView
from billing.portal.api_members import PortalMemberDetailApi
from billing.portal.payloads import customer_subscription_output
from billing.seats import selectors, services
from billing.seats.payloads import seat_output, seats_list_output
from billing.seats.serializers import SeatAssignInput, SeatListQuery
from polar.api.openapi import error_response
from polar.errors import PolarRequestValidationError, ResourceNotFound


class _PortalSeatApi(PortalAPIView):
    def buyer_container(self, *, subscription_id=None, order_id=None) -> dict:
        """The session's own subscription (or order) the seats belong to, as keyword arguments."""
        if subscription_id is not None:
            subscription = selectors.buyer_seat_container_subscription(customer=self.customer, id=subscription_id)
            if subscription is None:
                raise ResourceNotFound("Subscription not found")
            return {"subscription": subscription}
        order = selectors.buyer_seat_container_order(customer=self.customer, id=order_id)
        if order is None:
            raise ResourceNotFound("Order not found")
        return {"order": order}

    def buyer_seat(self, seat_id):
        seat = selectors.buyer_seat_get(customer=self.customer, id=self.parse_id(seat_id, "seat_id"))
        if seat is None:
            raise ResourceNotFound("Seat not found")
        return seat


class PortalSeatListApi(_PortalSeatApi):
    @extend_schema(
        operation_id="customer_portal:seats:list_seats",
        parameters=[SeatListQuery],
        responses={200: OpenApiTypes.OBJECT, 404: error_response("Subscription or order not found.")},
    )
    def get(self, request):
        container = self.buyer_container(**self.parse_query(SeatListQuery))
        seats = list(selectors.seat_list(organization=self.customer.organization, **container))
        (owner,) = container.values()
        return self.respond(seats_list_output(seats=seats, total_seats=owner.seats or 0))

    @extend_schema(
        operation_id="customer_portal:seats:assign_seat",
        request=SeatAssignInput,
        responses={200: OpenApiTypes.OBJECT, 404: error_response("Subscription, order, customer or member not found.")},
    )
    def post(self, request):
        data = self.parse_body(SeatAssignInput)
        if data.pop("immediate_claim", False):
            # Claiming grants the holder the benefits: from the portal the holder accepts by e-mail, as on
            # Polar, where immediate_claim is an API-only feature (the merchant's /v1/customer-seats).
            raise PolarRequestValidationError.single(
                ["body", "immediate_claim"], "immediate_claim is only available through the organization API."
            )
        container = self.buyer_container(subscription_id=data.pop("subscription_id", None), order_id=data.pop("order_id", None))
        seat = services.seat_assign(organization=self.customer.organization, **container, **data)
        return self.respond(seat_output(seat))


class PortalSeatApi(_PortalSeatApi):
    @extend_schema(operation_id="customer_portal:seats:revoke_seat", responses=OpenApiTypes.OBJECT)
    def delete(self, request, seat_id):
        return self.respond(seat_output(services.seat_revoke(seat=self.buyer_seat(seat_id))))


class PortalSeatResendApi(_PortalSeatApi):
    @extend_schema(operation_id="customer_portal:seats:resend_invitation", request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, seat_id):
        return self.respond(seat_output(services.seat_resend_invitation(seat=self.buyer_seat(seat_id))))


class PortalClaimedSubscriptionListApi(PortalAPIView):
    """The subscriptions in which the session's customer holds a claimed seat (bought by someone else,
    usually its team's owner): what the holder's benefits come from."""

    default_sorting = ("-started_at",)
    sorting_fields = {"started_at": "started_at"}

    @extend_schema(operation_id="customer_portal:seats:list_claimed_subscriptions", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        customer = self.customer
        rows = portal_selectors.portal_claimed_subscription_list(
            customer=customer, claimed_ids=selectors.claimed_subscription_ids(customer=customer)
        )
        cache: dict = {}
        return self.paginate_rendered(rows.order_by(*self.sorting()), lambda row: customer_subscription_output(row, cache=cache))


class PortalMemberWithSeatsApi(PortalMemberDetailApi):
    """``PATCH`` as the portal's member view; ``DELETE`` removes the member after revoking its seats
    (``member_delete_with_seats``: a refused delete, such as the owner, revokes nothing)."""

    @extend_schema(operation_id="customer_portal:members:remove_member", responses={204: None})
    def delete(self, request, id):
        member = self.not_found(portal_selectors.portal_member_get(customer=self.team_customer(), id=self.parse_id(id)), "Member")
        services.member_delete_with_seats(member=member)
        return self.respond(None, status=204)
