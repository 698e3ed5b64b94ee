"""``/v1/customer-seats``: seats of seat-based subscriptions and orders (Polar's ``customer_seats``), and
the member item routes of ``/v1/customers/…/members/…`` (deleting a member revokes its seats).

The claim routes are public: the invitation token is the credential (rate-limited per address as the
checkout client routes are; ``polar.api.throttling``)."""

import hashlib

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny

from billing.seats import selectors, services
from billing.seats.payloads import seat_claim_info_output, seat_output, seats_list_output
from billing.seats.serializers import SeatAssignInput, SeatClaimInput, SeatListQuery
from customers.api.members import MemberItemApi, item_schema
from polar.api.openapi import error_response
from polar.api.views import PolarAPIView
from polar.errors import ResourceNotFound

_SEAT_SCOPES = {
    "GET": ["customer_seats:read", "customer_seats:write"],
    "POST": ["customer_seats:write"],
    "DELETE": ["customer_seats:write"],
}


class _SeatApiBase(PolarAPIView):
    required_scopes = _SEAT_SCOPES

    def get_container(self, *, subscription_id=None, order_id=None):
        if subscription_id is not None:
            container = selectors.seat_container_subscription(organization=self.organization, id=subscription_id)
            if container is None:
                raise ResourceNotFound("Subscription not found")
            return {"subscription": container}
        container = selectors.seat_container_order(organization=self.organization, id=order_id)
        if container is None:
            raise ResourceNotFound("Order not found")
        return {"order": container}

    def get_seat(self, seat_id):
        seat = selectors.seat_get(organization=self.organization, id=self.parse_id(seat_id, "seat_id"))
        if seat is None:
            raise ResourceNotFound("Seat not found")
        return seat


class CustomerSeatListApi(_SeatApiBase):
    @extend_schema(
        operation_id="customer_seats:list_seats",
        parameters=[SeatListQuery],
        responses={200: OpenApiTypes.OBJECT, 404: error_response("No such subscription or order.")},
    )
    def get(self, request):
        query = self.parse_query(SeatListQuery)
        container = self.get_container(**query)
        seats = list(selectors.seat_list(organization=self.organization, **container))
        (owner,) = container.values()
        return self.respond(seats_list_output(seats=seats, total_seats=owner.seats or 0))

    @extend_schema(
        operation_id="customer_seats:assign_seat",
        request=SeatAssignInput,
        responses={200: OpenApiTypes.OBJECT, 404: error_response("No such subscription or order.")},
    )
    def post(self, request):
        data = self.parse_body(SeatAssignInput)
        container = self.get_container(subscription_id=data.pop("subscription_id", None), order_id=data.pop("order_id", None))
        seat = services.seat_assign(organization=self.organization, **container, **data)
        return self.respond(seat_output(seat))


class CustomerSeatApi(_SeatApiBase):
    # Polar answers a revoke with the revoked seat (200), not an empty 204.
    @extend_schema(operation_id="customer_seats:revoke_seat", responses={200: OpenApiTypes.OBJECT})
    def delete(self, request, seat_id):
        return self.respond(seat_output(services.seat_revoke(seat=self.get_seat(seat_id))))


class CustomerSeatResendApi(_SeatApiBase):
    @extend_schema(operation_id="customer_seats:resend_invitation", request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, seat_id):
        return self.respond(seat_output(services.seat_resend_invitation(seat=self.get_seat(seat_id))))


class _SeatClaimBase(PolarAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class CustomerSeatClaimInfoApi(_SeatClaimBase):
    def idempotency_organization(self):
        return None  # a read

    @extend_schema(operation_id="customer_seats:get_claim_info", responses=OpenApiTypes.OBJECT)
    def get(self, request, invitation_token):
        seat = selectors.seat_get_by_invitation_token(invitation_token)
        if seat is None:
            raise services.InvalidInvitationToken()
        return self.respond(seat_claim_info_output(seat))


class CustomerSeatClaimApi(_SeatClaimBase):
    def _token(self) -> str:
        data = self.request.data
        token = data.get("invitation_token") if isinstance(data, dict) else None
        return token if isinstance(token, str) else ""

    def idempotency_organization(self):
        # Keys live in the seat's organization, in a namespace of this token: nobody else can read the answer.
        seat = selectors.seat_get_by_invitation_token(self._token(), claimable=False)
        return seat.organization if seat is not None else None

    def idempotency_namespace(self) -> str:
        return "seat-claim:" + hashlib.sha256(self._token().encode()).hexdigest()[:64]

    @extend_schema(operation_id="customer_seats:claim_seat", request=SeatClaimInput, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = self.parse_body(SeatClaimInput)
        seat, session_token = services.seat_claim(invitation_token=data["invitation_token"])
        return self.respond({"seat": seat_output(seat), "customer_session_token": session_token})


class _MemberItemWithSeatsApi(MemberItemApi):
    def delete(self, request, **lookup):
        services.member_delete_with_seats(member=self.get_member(**lookup))
        return self.respond(None, status=204)


@item_schema("")
class CustomerMemberApi(_MemberItemWithSeatsApi):
    pass


@item_schema("_external")
class CustomerExternalMemberApi(_MemberItemWithSeatsApi):
    pass
