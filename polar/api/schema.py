"""OpenAPI: organization access tokens are HTTP bearer tokens (loaded by ApiConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class OrganizationTokenScheme(OpenApiAuthenticationExtension):
    target_class = "polar.organizations.authentication.OrganizationTokenAuthentication"
    name = "access_token"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An organization access token: polar_oat_..."}
