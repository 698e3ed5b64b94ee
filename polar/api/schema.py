"""OpenAPI: the security schemes (organization access tokens and customer sessions; loaded by
ApiConfig.ready) and the schema views, one schema per API version. What an operation documents is
polar.api.openapi's."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularYAMLAPIView
from rest_framework.negotiation import BaseContentNegotiation

from . import versions


class OrganizationTokenScheme(OpenApiAuthenticationExtension):
    target_class = "polar.organizations.authentication.OrganizationTokenAuthentication"
    name = "access_token"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An organization access token: polar_oat_..."}


class CustomerSessionScheme(OpenApiAuthenticationExtension):
    target_class = "billing.portal.authentication.CustomerSessionAuthentication"
    name = "customer_session"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A customer session token: polar_cst_..."}


class _FirstRenderer(BaseContentNegotiation):
    """The view's first renderer whatever the Accept header: /openapi.json answers JSON to a browser, to
    ``Accept: application/yaml`` and to code generators alike (never 406)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type


class _VersionedSchemaView:
    """The schema of the version the request names (``Polar-Version``, as every API call; or ``?version=``
    for a browser), ``versions.CURRENT`` when it names none; an unknown version is a 400."""

    content_negotiation_class = _FirstRenderer

    @extend_schema(exclude=True)  # as drf-spectacular's own get: the schema is not an operation of itself
    def get(self, request, *args, **kwargs):
        header = request.META.get(f"HTTP_{versions.HEADER.upper().replace('-', '_')}")
        try:
            self.api_version = versions.resolve(header or request.GET.get("version"))
        except versions.UnsupportedAPIVersion as exc:
            from rest_framework.response import Response

            return Response(exc.as_payload(), status=exc.status_code)
        return super().get(request, *args, **kwargs)


class OpenApiJsonView(_VersionedSchemaView, SpectacularJSONAPIView):
    pass


class OpenApiYamlView(_VersionedSchemaView, SpectacularYAMLAPIView):
    pass
