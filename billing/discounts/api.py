"""``/v1/discounts/``: thin views over billing.discounts.services and billing.discounts.selectors."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from billing import api_examples
from billing.discounts import selectors, services
from billing.discounts.payloads import DiscountOutput
from billing.discounts.serializers import (
    DiscountCreateInput,
    DiscountListQuery,
    DiscountUpdateInput,
)
from polar.api.views import PolarAPIView, check_organization_id
from polar.errors import ResourceNotFound


class DiscountListApi(PolarAPIView):
    scope = "discounts"
    sorting_fields = {
        "created_at": "created_at",
        "name": "name",
        "code": "code",
        "starts_at": "starts_at",
        "ends_at": "ends_at",
        "redemptions_count": "redemptions_count",
    }

    @extend_schema(operation_id="discounts:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(DiscountListQuery)
        queryset = selectors.discount_list(organization=self.organization, **query).order_by(*self.sorting())
        return self.paginated(queryset, DiscountOutput)

    @extend_schema(
        operation_id="discounts:create",
        request=DiscountCreateInput,
        examples=api_examples.DISCOUNTS_CREATE,
        responses={201: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        data = self.parse_body(DiscountCreateInput)
        check_organization_id(self, data)
        discount = services.discount_create(organization=self.organization, **data)
        discount = selectors.discount_get(organization=self.organization, id=discount.pk)
        return self.respond(DiscountOutput(discount).data, status=201)


class DiscountDetailApi(PolarAPIView):
    scope = "discounts"

    def get_discount(self, id):
        discount = selectors.discount_get(organization=self.organization, id=self.parse_id(id))
        if discount is None:
            raise ResourceNotFound()
        return discount

    @extend_schema(operation_id="discounts:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        return self.respond(DiscountOutput(self.get_discount(id)).data)

    @extend_schema(operation_id="discounts:update", request=DiscountUpdateInput, responses=OpenApiTypes.OBJECT)
    def patch(self, request, id):
        discount = self.get_discount(id)
        data = self.parse_body(DiscountUpdateInput, partial=True)
        services.discount_update(discount=discount, **data)
        return self.respond(DiscountOutput(self.get_discount(id)).data)

    @extend_schema(operation_id="discounts:delete", responses={204: None})
    def delete(self, request, id):
        services.discount_delete(discount=self.get_discount(id))
        return Response(status=204)
