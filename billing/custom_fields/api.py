"""``/v1/custom-fields/``: create, list, get, update, delete (organization token, ``custom_fields:*``)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from billing import api_examples
from billing.custom_fields import selectors, services
from billing.custom_fields.payloads import CustomFieldOutput
from billing.custom_fields.serializers import CustomFieldCreateInput, CustomFieldListQuery, CustomFieldUpdateInput
from polar.api.views import PolarAPIView, check_organization_id
from polar.errors import ResourceNotFound


class CustomFieldListApi(PolarAPIView):
    scope = "custom_fields"
    sorting_fields = {"created_at": "created_at", "slug": "slug", "name": "name", "type": "type"}
    default_sorting = ("slug",)

    @extend_schema(operation_id="custom-fields:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(CustomFieldListQuery)
        queryset = selectors.custom_field_list(organization=self.organization, **query).order_by(*self.sorting())
        return self.paginated(queryset, CustomFieldOutput)

    @extend_schema(
        operation_id="custom-fields:create",
        request=CustomFieldCreateInput,
        examples=api_examples.CUSTOM_FIELDS_CREATE,
        responses={201: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        data = self.parse_body(CustomFieldCreateInput)
        check_organization_id(self, data)
        field = services.custom_field_create(organization=self.organization, **data)
        return self.respond(CustomFieldOutput(field).data, status=201)


class CustomFieldDetailApi(PolarAPIView):
    scope = "custom_fields"

    def get_field(self, id):
        field = selectors.custom_field_get(organization=self.organization, id=self.parse_id(id))
        if field is None:
            raise ResourceNotFound()
        return field

    @extend_schema(operation_id="custom-fields:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        return self.respond(CustomFieldOutput(self.get_field(id)).data)

    @extend_schema(operation_id="custom-fields:update", request=CustomFieldUpdateInput, responses=OpenApiTypes.OBJECT)
    def patch(self, request, id):
        field = self.get_field(id)
        data = self.parse_body(CustomFieldUpdateInput)
        return self.respond(CustomFieldOutput(services.custom_field_update(field=field, **data)).data)

    @extend_schema(operation_id="custom-fields:delete", responses={204: None})
    def delete(self, request, id):
        services.custom_field_delete(field=self.get_field(id))
        return self.respond(None, status=204)
