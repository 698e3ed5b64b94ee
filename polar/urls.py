from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from polar import pages
from polar.api import exceptions as api_exceptions
from polar.api.routing import slash_fallback_pattern
from polar.api.schema import OpenApiJsonView, OpenApiYamlView
from polar.observability import health

# Every app adds its /v1/ routes in its own api/urls.py; collections end with a slash, items do not.
v1_patterns = [
    path("", include("polar.organizations.api.urls")),
    path("", include("billing.customers_urls")),
    path("", include("customers.api.urls")),
    path("", include("billing.urls")),
    path("", include("polar.webhooks.api.urls")),
    # Last: ``/v1/products`` is served as ``/v1/products/`` (polar.api.routing).
    slash_fallback_pattern(),
]

urlpatterns = [
    path("v1/", include(v1_patterns)),
    # The schema is JSON at .json whatever the Accept header (code generators fetch it plainly); YAML at .yaml.
    path("openapi.json", OpenApiJsonView.as_view(), name="openapi-schema"),
    path("openapi.yaml", OpenApiYamlView.as_view(), name="openapi-schema-yaml"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="api-docs"),
    path("redoc", SpectacularRedocView.as_view(url_name="openapi-schema"), name="api-redoc"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    # The hosted checkout and the invoice pages (server-rendered, outside /v1/).
    path("", include("billing.pages_urls")),
    path("", pages.landing_page, name="landing-page"),
]

handler400 = api_exceptions.json_bad_request
handler403 = api_exceptions.json_permission_denied
handler404 = api_exceptions.json_not_found
handler500 = api_exceptions.json_server_error
