"""``/v1/refunds/``: create (``refunds:create``) and list (``refunds:list``) in Polar's shapes."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from billing.refunds import selectors, services
from billing.refunds.payloads import RefundOutput, refund_output
from billing.refunds.serializers import RefundCreateInput, RefundListQuery
from polar.api.views import PolarAPIView


class RefundListApi(PolarAPIView):
    scope = "refunds"
    sorting_fields = {"created_at": "created_at", "amount": "amount"}

    @extend_schema(operation_id="refunds:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(RefundListQuery)
        if query.get("organization_id") and self.organization.pk not in query["organization_id"]:
            return self.paginated(selectors.refund_list(organization=self.organization).none(), RefundOutput)
        queryset = selectors.refund_list(organization=self.organization, **query).order_by(*self.sorting())
        return self.paginated(queryset, RefundOutput)

    @extend_schema(operation_id="refunds:create", request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = self.parse_body(RefundCreateInput)
        refund = services.refund_create(
            organization=self.organization,
            order_id=data["order_id"],
            amount=data["amount"],
            reason=data["reason"],
            comment=data.get("comment"),
            metadata=data.get("metadata"),
            revoke_benefits=bool(data.get("revoke_benefits")),
        )
        return self.respond(refund_output(refund), status=201)
