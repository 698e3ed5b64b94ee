"""License keys: ``GET /v1/license-keys/`` for the merchant, and Polar's customer-portal
``validate``/``activate``/``deactivate`` endpoints (authenticated with an organization token for now)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from billing.license_keys import selectors, services
from billing.license_keys.payloads import (
    LicenseKeyOutput,
    LicenseKeyWithActivationsOutput,
    granted_license_key_activation_output,
    validated_license_key_output,
)
from billing.license_keys.serializers import (
    LicenseKeyActivateInput,
    LicenseKeyDeactivateInput,
    LicenseKeyListQuery,
    LicenseKeyUpdateInput,
    LicenseKeyValidateInput,
)
from polar.api.openapi import error_response
from polar.api.views import PolarAPIView
from polar.errors import ResourceNotFound

PORTAL_SCOPES = {"POST": ["license_keys:read", "license_keys:write"]}


class LicenseKeyListApi(PolarAPIView):
    scope = "license_keys"

    @extend_schema(operation_id="license_keys:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(LicenseKeyListQuery)
        queryset = selectors.license_key_list(organization=self.organization, **query).order_by(*self.sorting())
        return self.paginated(queryset, LicenseKeyOutput)


class LicenseKeyDetailApi(PolarAPIView):
    scope = "license_keys"

    def get_key(self, id):
        key = selectors.license_key_get(organization=self.organization, id=self.parse_id(id))
        if key is None:
            raise ResourceNotFound()
        return key

    @extend_schema(operation_id="license_keys:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        return self.respond(LicenseKeyWithActivationsOutput(self.get_key(id)).data)

    @extend_schema(operation_id="license_keys:update", request=LicenseKeyUpdateInput, responses=OpenApiTypes.OBJECT)
    def patch(self, request, id):
        key = self.get_key(id)
        data = self.parse_body(LicenseKeyUpdateInput, partial=True)
        key = services.license_key_update(license_key=key, **data)
        return self.respond(LicenseKeyOutput(key).data)


class LicenseKeyRotateApi(PolarAPIView):
    """``POST /v1/license-keys/{id}/rotate``: a new key string (Polar's RotatedLicenseKey)."""

    scope = "license_keys"
    get_key = LicenseKeyDetailApi.get_key

    @extend_schema(operation_id="license_keys:rotate", request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, id):
        key = services.license_key_rotate(license_key=self.get_key(id))
        return self.respond(LicenseKeyOutput(key).data)


class LicenseKeyActivationDetailApi(PolarAPIView):
    scope = "license_keys"

    @extend_schema(operation_id="license_keys:get_activation", responses=OpenApiTypes.OBJECT)
    def get(self, request, id, activation_id):
        key = selectors.license_key_get(organization=self.organization, id=self.parse_id(id))
        if key is None:
            raise ResourceNotFound()
        activation = key.activations.filter(pk=self.parse_id(activation_id, "activation_id")).first()
        if activation is None:
            raise ResourceNotFound()
        return self.respond(granted_license_key_activation_output(activation))


class _PortalApi(PolarAPIView):
    required_scopes = PORTAL_SCOPES

    def parse_key_body(self, serializer_class):
        data = self.parse_body(serializer_class)
        # A key is looked up inside the named organization only; another organization's keys do not exist.
        if data.pop("organization_id") != self.organization.pk:
            raise ResourceNotFound("License key not found.")
        return data


class LicenseKeyValidateApi(_PortalApi):
    @extend_schema(
        operation_id="customer_portal:license_keys:validate",
        request=LicenseKeyValidateInput,
        responses={200: OpenApiTypes.OBJECT, 404: error_response("No such license key in the organization.")},
    )
    def post(self, request):
        data = self.parse_key_body(LicenseKeyValidateInput)
        key, activation = services.license_key_validate(organization=self.organization, **data)
        return self.respond(validated_license_key_output(key, activation))


class LicenseKeyActivateApi(_PortalApi):
    @extend_schema(
        operation_id="customer_portal:license_keys:activate",
        request=LicenseKeyActivateInput,
        responses={200: OpenApiTypes.OBJECT, 404: error_response("No such license key in the organization.")},
    )
    def post(self, request):
        data = self.parse_key_body(LicenseKeyActivateInput)
        activation = services.license_key_activate(organization=self.organization, **data)
        return self.respond(granted_license_key_activation_output(activation))


class LicenseKeyDeactivateApi(_PortalApi):
    @extend_schema(
        operation_id="customer_portal:license_keys:deactivate",
        request=LicenseKeyDeactivateInput,
        responses={204: None, 404: error_response("No such license key in the organization.")},
    )
    def post(self, request):
        data = self.parse_key_body(LicenseKeyDeactivateInput)
        services.license_key_deactivate(organization=self.organization, **data)
        return Response(status=204)


# Polar's organization-level twins (``/v1/license-keys/validate`` ...): the same behaviour under their own
# operation ids (``license_keys:validate`` ...), so the schema has no operationId collision.
class OrgLicenseKeyValidateApi(LicenseKeyValidateApi):
    @extend_schema(
        operation_id="license_keys:validate",
        request=LicenseKeyValidateInput,
        responses={200: OpenApiTypes.OBJECT, 404: error_response("No such license key in the organization.")},
    )
    def post(self, request):
        return super().post(request)


class OrgLicenseKeyActivateApi(LicenseKeyActivateApi):
    @extend_schema(
        operation_id="license_keys:activate",
        request=LicenseKeyActivateInput,
        responses={200: OpenApiTypes.OBJECT, 404: error_response("No such license key in the organization.")},
    )
    def post(self, request):
        return super().post(request)


class OrgLicenseKeyDeactivateApi(LicenseKeyDeactivateApi):
    @extend_schema(
        operation_id="license_keys:deactivate",
        request=LicenseKeyDeactivateInput,
        responses={204: None, 404: error_response("No such license key in the organization.")},
    )
    def post(self, request):
        return super().post(request)
