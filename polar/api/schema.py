"""OpenAPI: organization access tokens are HTTP bearer tokens (loaded by ApiConfig.ready); the schema views."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularYAMLAPIView
from rest_framework.negotiation import BaseContentNegotiation


class OrganizationTokenScheme(OpenApiAuthenticationExtension):
    target_class = "polar.organizations.authentication.OrganizationTokenAuthentication"
    name = "access_token"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An organization access token: polar_oat_..."}


class _FirstRenderer(BaseContentNegotiation):
    """The view's first renderer whatever the Accept header: /openapi.json answers JSON to a browser, to
    ``Accept: application/yaml`` and to code generators alike (never 406)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type


class OpenApiJsonView(SpectacularJSONAPIView):
    content_negotiation_class = _FirstRenderer


class OpenApiYamlView(SpectacularYAMLAPIView):
    content_negotiation_class = _FirstRenderer
