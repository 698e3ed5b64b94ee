"""``/v1/customers/{id}/members`` and ``/v1/customers/external/{external_id}/members``: a customer's
members (Polar's ``customers.members`` operations), thin views over customers.services and selectors.

Deleting a member also revokes the seats it holds, which billing owns: billing routes the item paths
to its subclass of ``MemberItemApi`` (``billing.seats.api``) so that this app imports nothing of billing.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view

from customers import selectors, services
from customers.api.serializers import MemberCreateInput, MemberListQuery, MemberUpdateInput
from customers.api.views import CustomerApiBase
from customers.payloads import MemberOutput
from polar.errors import ResourceNotFound

_MEMBER_SCOPES = {
    "GET": ["members:read", "members:write"],
    "POST": ["members:write"],
    "PATCH": ["members:write"],
    "DELETE": ["members:write"],
}


class _MemberApiBase(CustomerApiBase):
    required_scopes = _MEMBER_SCOPES

    def get_member(self, *, member_id=None, member_external_id=None, **lookup):
        customer = self.get_customer(**lookup)
        if member_id is not None:
            member = selectors.member_get(customer=customer, id=self.parse_id(member_id, "member_id"))
        else:
            member = selectors.member_get_by_external_id(customer=customer, external_id=member_external_id)
        if member is None:
            raise ResourceNotFound("Member not found")
        member.customer = customer
        return member


class MemberListCreateApi(_MemberApiBase):
    def get(self, request, **lookup):
        query = self.parse_query(MemberListQuery)
        customer = self.get_customer(**lookup)
        queryset = selectors.member_list(customer=customer, role=query.get("role"))
        return self.paginated(queryset.order_by(*self.sorting()), MemberOutput)

    def post(self, request, **lookup):
        customer = self.get_customer(**lookup)
        data = self.parse_body(MemberCreateInput)
        member, _created = services.member_create(customer=customer, **data)
        return self.respond(MemberOutput(member).data, status=201)


class MemberItemApi(_MemberApiBase):
    def get(self, request, **lookup):
        return self.respond(MemberOutput(self.get_member(**lookup)).data)

    def patch(self, request, **lookup):
        member = self.get_member(**lookup)
        changes = self.parse_body(MemberUpdateInput, partial=True)
        return self.respond(MemberOutput(services.member_update(member=member, changes=changes)).data)

    def delete(self, request, **lookup):
        services.member_delete(member=self.get_member(**lookup))
        return self.respond(None, status=204)


def _list_schema(suffix: str):
    return extend_schema_view(
        get=extend_schema(
            operation_id=f"customers:members:list{suffix}", parameters=[MemberListQuery], responses=OpenApiTypes.OBJECT
        ),
        post=extend_schema(
            operation_id=f"customers:members:create{suffix}", request=MemberCreateInput, responses={201: OpenApiTypes.OBJECT}
        ),
    )


def item_schema(suffix: str):
    return extend_schema_view(
        get=extend_schema(operation_id=f"customers:members:get{suffix}", responses=OpenApiTypes.OBJECT),
        patch=extend_schema(
            operation_id=f"customers:members:update{suffix}", request=MemberUpdateInput, responses=OpenApiTypes.OBJECT
        ),
        delete=extend_schema(operation_id=f"customers:members:delete{suffix}", responses={204: None}),
    )


@_list_schema("")
class CustomerMemberListApi(MemberListCreateApi):
    pass


@_list_schema("_external")
class CustomerExternalMemberListApi(MemberListCreateApi):
    pass
