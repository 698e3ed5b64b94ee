"""``POST /v1/customer-portal/license-keys/validate|activate|deactivate``: public on Polar (the merchant's
software calls them from a customer's machine with the key and the organization id), so they answer with
no credential, with a customer session, or with an organization token (which needs a license_keys scope).
A key is looked up inside the named organization only; with a credential, that must be its organization
(else the key does not exist: 404). The merchant's twins at ``/v1/license-keys/...`` stay in
``billing.license_keys.api``."""

import hashlib

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from billing.license_keys import services
from billing.license_keys.payloads import granted_license_key_activation_output, validated_license_key_output
from billing.license_keys.serializers import LicenseKeyActivateInput, LicenseKeyDeactivateInput, LicenseKeyValidateInput
from billing.portal import selectors
from billing.portal.authentication import CustomerSessionPrincipal, LicenseKeyCallerAuthentication, LicenseKeyCallerPermission
from polar.api.openapi import error_response
from polar.api.views import PolarAPIView
from polar.audit import customer_session_actor
from polar.errors import ResourceNotFound


class _LicenseKeyActionApi(PolarAPIView):
    authentication_classes = [LicenseKeyCallerAuthentication]
    permission_classes = [LicenseKeyCallerPermission]
    required_scopes = {"POST": ["license_keys:read", "license_keys:write"]}

    def idempotency_organization(self):
        # Anonymous callers have no namespace of their own to keep keys in: no Idempotency-Key for them
        # (validate and deactivate are safe to repeat; activate is bounded by the key's activation limit).
        return self.request.user.organization if self.request.user is not None else None

    def idempotency_namespace(self) -> str:
        if isinstance(self.request.user, CustomerSessionPrincipal):
            return "portal:" + hashlib.sha256(str(self.request.user.customer.pk).encode()).hexdigest()[:40]
        return super().idempotency_namespace()

    def audit_actor(self, request):
        if isinstance(request.user, CustomerSessionPrincipal):
            return customer_session_actor(session=request.auth, remote_addr=request.META.get("REMOTE_ADDR"))
        return super().audit_actor(request)

    def parse_key_body(self, serializer_class):
        data = self.parse_body(serializer_class)
        organization_id = data.pop("organization_id")
        if self.request.user is not None:
            organization = self.request.user.organization
            if organization_id != organization.pk:
                raise ResourceNotFound("License key not found.")
        else:
            organization = selectors.portal_organization_by_id(id=organization_id)
            if organization is None:
                raise ResourceNotFound("License key not found.")
        return organization, data


class PortalLicenseKeyValidateApi(_LicenseKeyActionApi):
    @extend_schema(
        operation_id="customer_portal:license_keys:validate",
        request=LicenseKeyValidateInput,
        responses={200: OpenApiTypes.OBJECT, 404: error_response("No such license key in the organization.")},
    )
    def post(self, request):
        organization, data = self.parse_key_body(LicenseKeyValidateInput)
        key, activation = services.license_key_validate(organization=organization, **data)
        return self.respond(validated_license_key_output(key, activation))


class PortalLicenseKeyActivateApi(_LicenseKeyActionApi):
    @extend_schema(
        operation_id="customer_portal:license_keys:activate",
        request=LicenseKeyActivateInput,
        responses={200: OpenApiTypes.OBJECT, 404: error_response("No such license key in the organization.")},
    )
    def post(self, request):
        organization, data = self.parse_key_body(LicenseKeyActivateInput)
        activation = services.license_key_activate(organization=organization, **data)
        return self.respond(granted_license_key_activation_output(activation))


class PortalLicenseKeyDeactivateApi(_LicenseKeyActionApi):
    @extend_schema(
        operation_id="customer_portal:license_keys:deactivate",
        request=LicenseKeyDeactivateInput,
        responses={204: None, 404: error_response("No such license key in the organization.")},
    )
    def post(self, request):
        organization, data = self.parse_key_body(LicenseKeyDeactivateInput)
        services.license_key_deactivate(organization=organization, **data)
        return Response(status=204)
