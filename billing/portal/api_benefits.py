"""What the session's customer was granted: benefit grants, license keys (list, get, rotate), customer
meters, downloadables (none until file uploads exist); and the public organization read by slug."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny

from billing.license_keys.services import license_key_rotate
from billing.portal import selectors
from billing.portal.api import PortalAPIView
from billing.portal.payloads import (
    customer_benefit_grant_output,
    customer_license_key_output,
    customer_meter_output,
    customer_organization_output,
    customer_product_output,
)
from billing.portal.serializers import (
    PortalBenefitGrantListQuery,
    PortalCustomerMeterListQuery,
    PortalLicenseKeyListQuery,
)
from polar.api.views import PolarAPIView
from polar.errors import ResourceNotFound


class PortalBenefitGrantListApi(PortalAPIView):
    sorting_fields = {
        "granted_at": "granted_at",
        "type": "benefit__type",
        "organization": "organization_id",
        "product_benefit": "benefit__description",
    }
    default_sorting = ("product_benefit", "-granted_at")

    @extend_schema(operation_id="customer_portal:benefit_grants:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(PortalBenefitGrantListQuery)
        query.pop("checkout_id", None)  # grants record no checkout: a checkout filter matches through the order
        if query.pop("member_id", None):
            return self.paginate_rendered([], customer_benefit_grant_output)  # no members: no member's grants
        rows = selectors.portal_benefit_grant_list(customer=self.customer, **query).select_related("benefit__organization")
        return self.paginate_rendered(rows.order_by(*self.sorting()), customer_benefit_grant_output)


class PortalBenefitGrantDetailApi(PortalAPIView):
    @extend_schema(operation_id="customer_portal:benefit_grants:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        grant = selectors.portal_benefit_grant_get(customer=self.customer, id=self.parse_id(id))
        return self.respond(customer_benefit_grant_output(self.not_found(grant, "Benefit grant")))


class PortalLicenseKeyListApi(PortalAPIView):
    @extend_schema(operation_id="customer_portal:license_keys:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(PortalLicenseKeyListQuery)
        rows = selectors.portal_license_key_list(customer=self.customer, **query).order_by(*self.sorting())
        return self.paginate_rendered(rows, customer_license_key_output)


class PortalLicenseKeyDetailApi(PortalAPIView):
    @extend_schema(operation_id="customer_portal:license_keys:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        key = selectors.portal_license_key_get(customer=self.customer, id=self.parse_id(id))
        return self.respond(customer_license_key_output(self.not_found(key, "License key"), activations=True))


class PortalLicenseKeyRotateApi(PortalAPIView):
    @extend_schema(operation_id="customer_portal:license_keys:rotate", request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, id):
        key = self.not_found(selectors.portal_license_key_get(customer=self.customer, id=self.parse_id(id)), "License key")
        return self.respond(customer_license_key_output(license_key_rotate(license_key=key)))


# Customer meters are computed (units come from the events table): sorted here, stably.
_METER_SORT_KEYS = {
    "created_at": lambda row: row.created_at,
    "modified_at": lambda row: (row.modified_at is not None, row.modified_at or row.created_at),
    "meter_id": lambda row: str(row.meter_id),
    "meter_name": lambda row: row.meter.name,
    "consumed_units": lambda row: row.units.consumed,
    "credited_units": lambda row: row.units.credited,
    "balance": lambda row: row.units.balance,
}


class PortalCustomerMeterListApi(PortalAPIView):
    sorting_fields = {name: name for name in _METER_SORT_KEYS}
    default_sorting = ("-modified_at",)

    @extend_schema(operation_id="customer_portal:customer_meters:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(PortalCustomerMeterListQuery)
        rows = selectors.portal_customer_meter_list(customer=self.customer, **query)
        for field in reversed(self.sorting()[:-1]):  # the last entry is the id tie-breaker
            rows.sort(key=_METER_SORT_KEYS[field.lstrip("-")], reverse=field.startswith("-"))
        return self.paginate_rendered(rows, customer_meter_output)


class PortalCustomerMeterDetailApi(PortalAPIView):
    @extend_schema(operation_id="customer_portal:customer_meters:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        row = selectors.portal_customer_meter_get(customer=self.customer, id=self.parse_id(id))
        return self.respond(customer_meter_output(self.not_found(row, "Customer meter")))


class PortalDownloadableListApi(PortalAPIView):
    """Downloadables are the files of a downloadables benefit: no file uploads exist yet, so none."""

    @extend_schema(operation_id="customer_portal:downloadables:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return self.paginate_rendered([], dict)


class PortalOrganizationApi(PolarAPIView):
    """``GET /v1/customer-portal/organizations/{slug}``: public, as on Polar (the portal's landing reads it
    before the customer signs in): the organization's customer-facing fields and its public products."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def idempotency_organization(self):
        return None

    @extend_schema(operation_id="customer_portal:organizations:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, slug):
        organization = selectors.portal_organization_by_slug(slug=slug)
        if organization is None:
            raise ResourceNotFound("Organization not found.")
        products = [customer_product_output(product) for product in selectors.portal_products(organization=organization)]
        return self.respond({"organization": customer_organization_output(organization), "products": products})
