"""``/v1/products/``: thin views over billing.catalog.services and billing.catalog.selectors."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from billing import api_examples
from billing.catalog import selectors, services
from billing.catalog.payloads import ProductOutput, ProductPriceHistoryOutput
from billing.catalog.serializers import (
    ProductBenefitsUpdateInput,
    ProductCreateInput,
    ProductListQuery,
    ProductPriceListQuery,
    ProductUpdateInput,
)
from polar.api.views import PolarAPIView, check_organization_id
from polar.errors import ResourceNotFound


class ProductListApi(PolarAPIView):
    scope = "products"
    sorting_fields = {"created_at": "created_at", "name": "name"}

    @extend_schema(operation_id="products:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(ProductListQuery)
        queryset = selectors.product_list(organization=self.organization, **query).order_by(*self.sorting())
        return self.paginated(queryset, ProductOutput)

    @extend_schema(
        operation_id="products:create",
        request=ProductCreateInput,
        examples=api_examples.PRODUCTS_CREATE,
        responses={201: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        data = self.parse_body(ProductCreateInput)
        check_organization_id(self, data)
        product = services.product_create(organization=self.organization, **data)
        product = selectors.product_get(organization=self.organization, id=product.pk)
        return self.respond(ProductOutput(product).data, status=201)


class ProductDetailApi(PolarAPIView):
    scope = "products"

    def get_product(self, id):
        product = selectors.product_get(organization=self.organization, id=self.parse_id(id))
        if product is None:
            raise ResourceNotFound()
        return product

    @extend_schema(operation_id="products:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        return self.respond(ProductOutput(self.get_product(id)).data)

    @extend_schema(
        operation_id="products:update",
        request=ProductUpdateInput,
        examples=api_examples.PRODUCTS_UPDATE,
        responses=OpenApiTypes.OBJECT,
    )
    def patch(self, request, id):
        product = self.get_product(id)
        data = self.parse_body(ProductUpdateInput, partial=True)
        services.product_update(product=product, **data)
        return self.respond(ProductOutput(self.get_product(id)).data)

    @extend_schema(operation_id="products:delete", responses={204: None})
    def delete(self, request, id):
        services.product_delete(product=self.get_product(id))
        return Response(status=204)


class ProductBenefitsApi(PolarAPIView):
    scope = "products"

    @extend_schema(operation_id="products:update_benefits", request=ProductBenefitsUpdateInput, responses=OpenApiTypes.OBJECT)
    def post(self, request, id):
        product = selectors.product_get(organization=self.organization, id=self.parse_id(id))
        if product is None:
            raise ResourceNotFound()
        data = self.parse_body(ProductBenefitsUpdateInput)
        services.product_benefits_set(product=product, benefits=data["benefits"])
        product = selectors.product_get(organization=self.organization, id=product.pk)
        return self.respond(ProductOutput(product).data)


class ProductPriceHistoryApi(PolarAPIView):
    """Every price version of a product, archived ones included (what old subscriptions and orders bought)."""

    scope = "products"
    sorting_fields = {"created_at": "created_at", "version": "version"}

    @extend_schema(operation_id="products:list_prices", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        product = selectors.product_get(organization=self.organization, id=self.parse_id(id))
        if product is None:
            raise ResourceNotFound()
        query = self.parse_query(ProductPriceListQuery)
        queryset = selectors.product_price_history(product=product, **query).order_by(*self.sorting())
        return self.paginated(queryset, ProductPriceHistoryOutput)
