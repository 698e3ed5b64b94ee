from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from polar.api.views import PolarAPIView
from polar.errors import ResourceNotFound
from polar.organizations import selectors

from .serializers import OrganizationOutput


class OrganizationListQuery(serializers.Serializer):
    slug = serializers.CharField(required=False)


class OrganizationListApi(PolarAPIView):
    scope = "organizations"
    sorting_fields = {"created_at": "created_at", "slug": "slug", "name": "name"}

    @extend_schema(operation_id="organizations:list", responses=OrganizationOutput(many=True))
    def get(self, request):
        query = self.parse_query(OrganizationListQuery)
        queryset = selectors.organization_list(organization=self.organization, **query).order_by(*self.sorting())
        return self.paginated(queryset, OrganizationOutput)


class OrganizationDetailApi(PolarAPIView):
    scope = "organizations"

    @extend_schema(operation_id="organizations:get", responses=OrganizationOutput)
    def get(self, request, id):
        organization = selectors.organization_get(organization=self.organization, id=self.parse_id(id))
        if organization is None:
            raise ResourceNotFound()
        return self.respond(OrganizationOutput(organization).data)
