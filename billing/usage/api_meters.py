"""``/v1/meters/``: meters and their quantities."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from billing import api_examples
from billing.usage import meters as services
from billing.usage import selectors
from billing.usage.api_events import _ListPayloads
from billing.usage.payloads import meter_payload
from polar.api.fields import BoundedDateTimeField
from polar.api.views import PolarAPIView
from polar.errors import PolarRequestValidationError, ResourceNotFound


def _body(request) -> dict:
    data = request.data
    if not isinstance(data, dict):
        raise PolarRequestValidationError.single(["body"], "Input should be a valid dictionary or object", "model_type")
    return data


class MeterListQuery(serializers.Serializer):
    query = serializers.CharField(required=False, max_length=256)
    is_archived = serializers.BooleanField(required=False, allow_null=True, default=None)
    metadata = serializers.DictField(child=serializers.CharField(max_length=500), required=False)
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)


class MeterListApi(PolarAPIView):
    scope = "meters"
    sorting_fields = {"created_at": "created_at", "name": "name"}

    @extend_schema(operation_id="meters:list", responses=None)
    def get(self, request):
        query = self.parse_query(MeterListQuery)
        queryset = selectors.meter_list(
            organization=self.organization,
            query=query.get("query"),
            is_archived=query.get("is_archived"),
            metadata=query.get("metadata"),
        )
        if query.get("organization_id") and self.organization.id not in query["organization_id"]:
            queryset = queryset.none()
        return self.paginated(queryset.order_by(*self.sorting()), _ListPayloads(meter_payload))

    @extend_schema(operation_id="meters:create", request=OpenApiTypes.OBJECT, responses=None, examples=api_examples.METERS_CREATE)
    def post(self, request):
        meter = services.meter_create(organization=self.organization, data=_body(request))
        return self.respond(meter_payload(meter), status=201)


class MeterDetailApi(PolarAPIView):
    scope = "meters"

    def _meter(self, id):
        meter = selectors.meter_get(organization=self.organization, id=self.parse_id(id))
        if meter is None:
            raise ResourceNotFound()
        return meter

    @extend_schema(operation_id="meters:get", responses=None)
    def get(self, request, id):
        return self.respond(meter_payload(self._meter(id)))

    @extend_schema(operation_id="meters:update", request=None, responses=None)
    def patch(self, request, id):
        meter = services.meter_update(meter=self._meter(id), data=_body(request))
        return self.respond(meter_payload(meter))


class MeterQuantitiesQuery(serializers.Serializer):
    start_timestamp = BoundedDateTimeField()
    end_timestamp = BoundedDateTimeField()
    interval = serializers.ChoiceField(choices=list(selectors.INTERVALS))
    timezone = serializers.CharField(required=False, default="UTC", max_length=64)
    customer_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    external_customer_id = serializers.ListField(child=serializers.CharField(max_length=256), required=False)


class MeterQuantitiesApi(PolarAPIView):
    scope = "meters"

    @extend_schema(operation_id="meters:quantities", responses=None)
    def get(self, request, id):
        meter = selectors.meter_get(organization=self.organization, id=self.parse_id(id))
        if meter is None:
            raise ResourceNotFound()
        query = self.parse_query(MeterQuantitiesQuery)
        timezone = selectors.check_time_zone(query["timezone"], ["query", "timezone"])
        result = selectors.meter_quantities(
            organization=self.organization,
            meter=meter,
            start_timestamp=query["start_timestamp"],
            end_timestamp=query["end_timestamp"],
            interval=query["interval"],
            timezone=timezone,
            customer_ids=query.get("customer_id"),
            external_customer_ids=query.get("external_customer_id"),
        )
        return self.respond(
            {
                "quantities": [
                    {"timestamp": row["timestamp"], "quantity": float(row["quantity"])} for row in result["quantities"]
                ],
                "total": float(result["total"]),
            }
        )
