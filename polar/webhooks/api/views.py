from drf_spectacular.utils import extend_schema

from polar.api import versions
from polar.api.views import PolarAPIView
from polar.errors import PolarRequestValidationError, ResourceNotFound

from .. import selectors, services
from .serializers import (
    WebhookDeliveryListQuery,
    WebhookDeliveryOutput,
    WebhookEndpointCreateInput,
    WebhookEndpointListQuery,
    WebhookEndpointOutput,
    WebhookEndpointUpdateInput,
)


class WebhookEndpointListApi(PolarAPIView):
    scope = "webhooks"

    @extend_schema(operation_id="webhooks:list_webhook_endpoints", responses=WebhookEndpointOutput(many=True))
    def get(self, request):
        query = self.parse_query(WebhookEndpointListQuery)
        queryset = selectors.webhook_endpoint_list(
            organization=self.organization, organization_ids=query.get("organization_id")
        ).order_by(*self.sorting())
        return self.paginated(queryset, WebhookEndpointOutput)

    @extend_schema(
        operation_id="webhooks:create_webhook_endpoint",
        request=WebhookEndpointCreateInput,
        responses={201: WebhookEndpointOutput},
    )
    def post(self, request):
        data = self.parse_body(WebhookEndpointCreateInput)
        organization_id = data.get("organization_id")
        if organization_id is not None and organization_id != self.organization.id:
            raise PolarRequestValidationError.single(
                ["body", "organization_id"], "Organization ID must be the access token's organization.", "value_error"
            )
        endpoint = services.webhook_endpoint_create(
            organization=self.organization,
            url=data["url"],
            format=data["format"],
            events=data["events"],
            name=data.get("name") or None,
            # Payloads are rendered in this version; by default the version the endpoint was created with.
            api_version=data.get("api_version") or versions.request_version(request),
        )
        return self.respond(WebhookEndpointOutput(endpoint, context={"request": request}).data, status=201)


class WebhookEndpointDetailApi(PolarAPIView):
    scope = "webhooks"

    def get_endpoint(self, id):
        endpoint = selectors.webhook_endpoint_get(organization=self.organization, id=self.parse_id(id))
        if endpoint is None:
            raise ResourceNotFound()
        return endpoint

    @extend_schema(operation_id="webhooks:get_webhook_endpoint", responses=WebhookEndpointOutput)
    def get(self, request, id):
        return self.respond(WebhookEndpointOutput(self.get_endpoint(id), context={"request": request}).data)

    @extend_schema(
        operation_id="webhooks:update_webhook_endpoint",
        request=WebhookEndpointUpdateInput,
        responses=WebhookEndpointOutput,
    )
    def patch(self, request, id):
        endpoint = self.get_endpoint(id)
        data = self.parse_body(WebhookEndpointUpdateInput)
        changes = {key: data.get(key) for key in ("url", "format", "events", "enabled", "api_version")}
        if "name" in data:
            changes["name"] = data["name"] or None
        endpoint = services.webhook_endpoint_update(endpoint=endpoint, **changes)
        return self.respond(WebhookEndpointOutput(endpoint, context={"request": request}).data)

    @extend_schema(operation_id="webhooks:delete_webhook_endpoint", responses={204: None})
    def delete(self, request, id):
        services.webhook_endpoint_delete(endpoint=self.get_endpoint(id))
        return self.respond(None, status=204)


class WebhookEndpointSecretApi(PolarAPIView):
    """Polar's SDK rotates with PATCH; POST is accepted too."""

    scope = "webhooks"

    @extend_schema(operation_id="webhooks:reset_webhook_endpoint_secret", request=None, responses=WebhookEndpointOutput)
    def patch(self, request, id):
        endpoint = selectors.webhook_endpoint_get(organization=self.organization, id=self.parse_id(id))
        if endpoint is None:
            raise ResourceNotFound()
        endpoint = services.webhook_endpoint_rotate_secret(endpoint=endpoint)
        return self.respond(WebhookEndpointOutput(endpoint, context={"request": request}).data)

    @extend_schema(operation_id="webhooks:reset_webhook_endpoint_secret_post", request=None, responses=WebhookEndpointOutput)
    def post(self, request, id):
        return self.patch(request, id)


class WebhookDeliveryListApi(PolarAPIView):
    scope = "webhooks"
    sorting_fields = {"created_at": "attempted_at"}

    @extend_schema(operation_id="webhooks:list_webhook_deliveries", responses=WebhookDeliveryOutput(many=True))
    def get(self, request):
        query = self.parse_query(WebhookDeliveryListQuery)
        queryset = selectors.webhook_attempt_list(
            organization=self.organization,
            endpoint_ids=query.get("endpoint_id"),
            start_timestamp=query.get("start_timestamp"),
            end_timestamp=query.get("end_timestamp"),
            succeeded=query.get("succeeded"),
            query=query.get("query"),
            http_code_class=query.get("http_code_class"),
            event_types=query.get("event_type"),
        ).order_by(*self.sorting())
        return self.paginated(queryset, WebhookDeliveryOutput)


class WebhookEventRedeliverApi(PolarAPIView):
    scope = "webhooks"

    @extend_schema(operation_id="webhooks:redeliver_webhook_event", request=None, responses={202: None})
    def post(self, request, id):
        services.webhook_event_redeliver(organization=self.organization, event_id=self.parse_id(id))
        # Polar answers 202 with an empty JSON value; polar-sdk parses the body as JSON.
        return self.respond({}, status=202)
