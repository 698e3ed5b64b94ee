"""``/v1/disputes/``: list (``disputes:list``), get (``disputes:get``) and accept (``disputes:accept``) in
Polar's shapes. Scopes: ``payments:read`` to read and ``refunds:write`` to accept until the token scopes
gain Polar's ``disputes:read``/``disputes:write``."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from billing.disputes import selectors, services
from billing.disputes.payloads import DisputeOutput, dispute_output
from polar.api.views import PolarAPIView
from polar.errors import ResourceNotFound

SCOPES = {"GET": ["disputes:read", "disputes:write"], "POST": ["disputes:write"]}


class DisputeListQuery(serializers.Serializer):
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    order_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    status = serializers.ListField(
        child=serializers.ChoiceField(choices=["needs_response", "under_review", "won", "lost"]), required=False
    )


class DisputeListApi(PolarAPIView):
    required_scopes = SCOPES
    sorting_fields = {"created_at": "created_at", "amount": "amount", "status": "status"}

    @extend_schema(operation_id="disputes:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(DisputeListQuery)
        queryset = selectors.dispute_list(organization=self.organization, **query)
        if query.get("organization_id") and self.organization.pk not in query["organization_id"]:
            queryset = queryset.none()
        return self.paginated(queryset.order_by(*self.sorting(), "id"), DisputeOutput)


class DisputeApi(PolarAPIView):
    required_scopes = SCOPES

    @extend_schema(operation_id="disputes:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        dispute = selectors.dispute_get(organization=self.organization, id=id)
        if dispute is None:
            raise ResourceNotFound()
        return self.respond(dispute_output(dispute))


class DisputeAcceptApi(PolarAPIView):
    required_scopes = SCOPES

    @extend_schema(operation_id="disputes:accept", request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, id):
        dispute = services.dispute_accept(organization=self.organization, dispute_id=id)
        return self.respond(dispute_output(selectors.dispute_get(organization=self.organization, id=dispute.id)))
