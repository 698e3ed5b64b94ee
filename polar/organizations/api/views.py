from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from polar.api.views import PolarAPIView
from polar.errors import ResourceNotFound
from polar.organizations import selectors, services

from .serializers import OrganizationOutput, OrganizationUpdateInput


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

    def get_organization(self, id):
        organization = selectors.organization_get(organization=self.organization, id=self.parse_id(id))
        if organization is None:
            raise ResourceNotFound()
        return organization

    @extend_schema(operation_id="organizations:get", responses=OrganizationOutput)
    def get(self, request, id):
        return self.respond(OrganizationOutput(self.get_organization(id)).data)

    @extend_schema(operation_id="organizations:update", request=OrganizationUpdateInput, responses=OrganizationOutput)
    def patch(self, request, id):
        organization = self.get_organization(id)
        data = self.parse_body(OrganizationUpdateInput, partial=True)
        changes = {key: data[key] for key in ("name", "default_presentment_currency") if data.get(key) is not None}
        for key in ("email", "website"):
            if key in data:
                changes[key] = data[key] or ""
        settings = data.get("subscription_settings") or {}
        changes.update({key: settings[key] for key in ("proration_behavior", "allow_customer_updates") if key in settings})
        if changes:
            organization = services.organization_update(organization=organization, **changes)
        return self.respond(OrganizationOutput(organization).data)
