"""``/v1/customer-portal/members``: the team of the session's customer (Polar's ``customer_portal.members``),
through the customers app's member services. On Polar a member session of an owner or billing manager
does this; a customer session here stands for the customer itself (its owner). Individual customers have
no team (403, as on Polar). Removing a member also revokes the seats it holds, so its ``DELETE`` is served
by ``billing.seats.api_portal.PortalMemberWithSeatsApi`` (a subclass of the view here)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from billing.portal import selectors
from billing.portal.api import PortalAPIView
from billing.portal.payloads import customer_portal_member_output
from billing.portal.serializers import PortalMemberCreateInput, PortalMemberUpdateInput
from customers.models import Customer
from customers.services import member_create, member_update
from polar.errors import NotPermitted


class _TeamApi(PortalAPIView):
    def team_customer(self):
        customer = self.customer
        if customer.type != Customer.Type.TEAM:
            raise NotPermitted(
                "Member management is only available for team customers. Purchase a seat-based product to enable team features."
            )
        return customer


class PortalMemberListApi(_TeamApi):
    @extend_schema(operation_id="customer_portal:members:list_members", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        rows = selectors.portal_member_list(customer=self.team_customer())
        return self.paginate_rendered(rows, customer_portal_member_output)

    @extend_schema(
        operation_id="customer_portal:members:add_member", request=PortalMemberCreateInput, responses={201: OpenApiTypes.OBJECT}
    )
    def post(self, request):
        customer = self.team_customer()
        data = self.parse_body(PortalMemberCreateInput)
        member, _created = member_create(customer=customer, email=data["email"], name=data.get("name"), role=data["role"])
        return self.respond(customer_portal_member_output(member), status=201)


class PortalMemberDetailApi(_TeamApi):
    @extend_schema(
        operation_id="customer_portal:members:update_member", request=PortalMemberUpdateInput, responses=OpenApiTypes.OBJECT
    )
    def patch(self, request, id):
        customer = self.team_customer()
        member = self.not_found(selectors.portal_member_get(customer=customer, id=self.parse_id(id)), "Member")
        data = self.parse_body(PortalMemberUpdateInput)
        member.customer = customer
        member = member_update(member=member, changes={key: value for key, value in data.items() if value is not None})
        return self.respond(customer_portal_member_output(member))
