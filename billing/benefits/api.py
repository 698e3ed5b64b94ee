"""``/v1/benefits/``: thin views over billing.benefits.services and billing.benefits.selectors."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing import api_examples
from billing.benefits import selectors, services
from billing.benefits.payloads import BenefitGrantOutput
from billing.benefits.serializers import (
    BenefitCreateInput,
    BenefitListQuery,
    BenefitUpdateInput,
)
from billing.catalog.payloads import BenefitOutput
from polar.api.views import PolarAPIView, check_organization_id
from polar.errors import ResourceNotFound


class BenefitListApi(PolarAPIView):
    scope = "benefits"
    sorting_fields = {"created_at": "created_at", "description": "description", "type": "type"}

    @extend_schema(operation_id="benefits:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(BenefitListQuery)
        queryset = selectors.benefit_list(organization=self.organization, **query).order_by(*self.sorting())
        return self.paginated(queryset, BenefitOutput)

    @extend_schema(
        operation_id="benefits:create",
        request=BenefitCreateInput,
        examples=api_examples.BENEFITS_CREATE,
        responses={201: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        data = self.parse_body(BenefitCreateInput)
        check_organization_id(self, data)
        benefit = services.benefit_create(organization=self.organization, **data)
        return self.respond(BenefitOutput(benefit).data, status=201)


class BenefitDetailApi(PolarAPIView):
    scope = "benefits"

    def get_benefit(self, id):
        benefit = selectors.benefit_get(organization=self.organization, id=self.parse_id(id))
        if benefit is None:
            raise ResourceNotFound()
        return benefit

    @extend_schema(operation_id="benefits:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        return self.respond(BenefitOutput(self.get_benefit(id)).data)

    @extend_schema(operation_id="benefits:update", request=BenefitUpdateInput, responses=OpenApiTypes.OBJECT)
    def patch(self, request, id):
        benefit = self.get_benefit(id)
        data = self.parse_body(BenefitUpdateInput, partial=True, context={"benefit": benefit})
        benefit = services.benefit_update(benefit=benefit, **data)
        return self.respond(BenefitOutput(benefit).data)

    @extend_schema(operation_id="benefits:delete", responses={204: None})
    def delete(self, request, id):
        services.benefit_delete(benefit=self.get_benefit(id))
        return Response(status=204)


class BenefitGrantListQuery(serializers.Serializer):
    is_granted = serializers.BooleanField(required=False, allow_null=True)
    customer_id = serializers.UUIDField(required=False)


class BenefitGrantListApi(PolarAPIView):
    """``GET /v1/benefits/{id}/grants``: who holds this benefit."""

    scope = "benefits"
    sorting_fields = {"created_at": "created_at", "granted_at": "granted_at", "revoked_at": "revoked_at"}

    @extend_schema(operation_id="benefits:grants", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        benefit = selectors.benefit_get(organization=self.organization, id=self.parse_id(id))
        if benefit is None:
            raise ResourceNotFound()
        query = self.parse_query(BenefitGrantListQuery)
        queryset = selectors.benefit_grant_list(
            organization=self.organization, benefit=benefit, is_granted=query.get("is_granted")
        )
        if query.get("customer_id"):
            queryset = queryset.filter(customer_id=query["customer_id"])
        return self.paginated(queryset.order_by(*self.sorting()), BenefitGrantOutput)


class OrganizationBenefitGrantListQuery(serializers.Serializer):
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    customer_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    external_customer_id = serializers.ListField(child=serializers.CharField(max_length=256), required=False)
    is_granted = serializers.BooleanField(required=False, allow_null=True)


class OrganizationBenefitGrantListApi(PolarAPIView):
    """``GET /v1/benefit-grants/``: every benefit grant of the organization (``benefit_grants.list``)."""

    scope = "benefits"
    sorting_fields = {"created_at": "created_at", "granted_at": "granted_at", "revoked_at": "revoked_at"}

    @extend_schema(operation_id="benefit_grants:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(OrganizationBenefitGrantListQuery)
        queryset = selectors.benefit_grant_list(organization=self.organization, is_granted=query.get("is_granted"))
        if query.get("customer_id"):
            queryset = queryset.filter(customer_id__in=query["customer_id"])
        if query.get("external_customer_id"):
            queryset = queryset.filter(customer__external_id__in=query["external_customer_id"])
        if query.get("organization_id") and self.organization.id not in query["organization_id"]:
            queryset = queryset.none()
        return self.paginated(queryset.order_by(*self.sorting()), BenefitGrantOutput)
