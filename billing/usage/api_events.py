"""``/v1/events/``: ingestion (the hot path) and reads."""

import orjson
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from billing import api_examples
from billing.usage import selectors, services
from billing.usage.payloads import event_name_payload, event_payload, event_type_payload, stored_event_type_payload
from polar.api.fields import BoundedDateTimeField
from polar.api.parsers import PayloadTooLarge, check_json_value, max_body_size
from polar.api.throttling import throttle_ingested_events
from polar.api.views import PolarAPIView
from polar.errors import PolarRequestValidationError, ResourceNotFound


class _ListPayloads:
    """Lets ``paginated`` render plain dicts through the same pagination as serializers."""

    def __init__(self, render):
        self.render = render

    def __call__(self, items, many=True, context=None):
        self.data = [self.render(item) for item in items]
        return self


class EventsIngestApi(PolarAPIView):
    scope = "events"

    @extend_schema(
        operation_id="events:ingest",
        request=OpenApiTypes.OBJECT,
        responses=OpenApiTypes.OBJECT,
        examples=api_examples.EVENTS_INGEST,
    )
    def post(self, request):
        # The body is parsed with orjson here rather than by DRF's JSON parser and a serializer: this is the
        # hot path (1,000 events a request), and validation is done by the service in one pass.
        try:
            body = request._request.body
        except RequestDataTooBig:
            raise PayloadTooLarge(
                f"The request body is too large: at most {max_body_size():,} bytes; send at most 1,000 events a request."
            )
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise PolarRequestValidationError.single(["body"], f"JSON decode error: {exc}", "json_invalid")
        # The strict parser's checks (nesting, numbers); NUL in strings is reported per event by the service.
        check_json_value(data, check_strings=False)
        if not isinstance(data, dict):
            raise PolarRequestValidationError.single(["body"], "Input should be a valid dictionary or object", "model_type")
        if "events" not in data:
            raise PolarRequestValidationError.single(["body", "events"], "Field required", "missing")
        if isinstance(data["events"], list):
            throttle_ingested_events(request, len(data["events"]))
        result = services.events_ingest(organization=self.organization, events=data["events"])
        return self.respond(result)


class EventListQuery(serializers.Serializer):
    customer_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    external_customer_id = serializers.ListField(child=serializers.CharField(max_length=256), required=False)
    name = serializers.ListField(child=serializers.CharField(max_length=128), required=False)
    source = serializers.ListField(child=serializers.ChoiceField(choices=["user", "system"]), required=False)
    start_timestamp = BoundedDateTimeField(required=False)
    end_timestamp = BoundedDateTimeField(required=False)
    metadata = serializers.DictField(child=serializers.CharField(max_length=500), required=False)
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    meter_id = serializers.UUIDField(required=False)


class EventListApi(PolarAPIView):
    scope = "events"
    sorting_fields = {"timestamp": "timestamp"}
    default_sorting = ("-timestamp",)

    @extend_schema(operation_id="events:list", responses=None)
    def get(self, request):
        query = self.parse_query(EventListQuery)
        meter = None
        if query.get("meter_id") is not None:
            meter = selectors.meter_get(organization=self.organization, id=query["meter_id"])
            if meter is None:
                raise ResourceNotFound("Meter not found")
        queryset = selectors.event_list(
            meter=meter,
            organization=self.organization,
            customer_ids=query.get("customer_id"),
            external_customer_ids=query.get("external_customer_id"),
            names=query.get("name"),
            sources=query.get("source"),
            start_timestamp=query.get("start_timestamp"),
            end_timestamp=query.get("end_timestamp"),
            metadata=query.get("metadata"),
        )
        if query.get("organization_id") and self.organization.id not in query["organization_id"]:
            queryset = queryset.none()
        types = selectors.event_types_by_name(organization=self.organization)  # one query a page, for the labels
        return self.paginated(
            queryset.order_by(*self.sorting()), _ListPayloads(lambda event: event_payload(event, types.get(event.name)))
        )


class EventNameListQuery(serializers.Serializer):
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    customer_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    external_customer_id = serializers.ListField(child=serializers.CharField(max_length=256), required=False)
    source = serializers.ListField(child=serializers.ChoiceField(choices=["user", "system"]), required=False)
    query = serializers.CharField(max_length=256, required=False, allow_blank=True)


class EventNameListApi(PolarAPIView):
    """``GET /v1/events/names``: the distinct names of the organization's events (Polar's EventName)."""

    scope = "events"
    sorting_fields = {"name": "name", "occurrences": "occurrences", "first_seen": "first_seen", "last_seen": "last_seen"}
    default_sorting = ("-last_seen",)

    @extend_schema(operation_id="events:list_names", responses=None)
    def get(self, request):
        query = self.parse_query(EventNameListQuery)
        queryset = selectors.event_name_list(
            organization=self.organization,
            customer_ids=query.get("customer_id"),
            external_customer_ids=query.get("external_customer_id"),
            sources=query.get("source"),
            query=query.get("query"),
        )
        if query.get("organization_id") and self.organization.id not in query["organization_id"]:
            queryset = queryset.none()
        # Grouped rows have no id: the tie-breaker is the name and source.
        order_by = [*self.sorting()[:-1], "name", "source"]
        types = selectors.event_types_by_name(organization=self.organization)
        return self.paginated(
            queryset.order_by(*order_by), _ListPayloads(lambda row: event_name_payload(row, types.get(row["name"])))
        )


class EventTypeListQuery(EventNameListQuery):
    source = serializers.ChoiceField(choices=["user", "system"], required=False)
    root_events = serializers.BooleanField(required=False, default=False)
    parent_id = serializers.CharField(max_length=256, required=False)


class EventTypeListApi(PolarAPIView):
    """``GET /v1/event-types/``: Polar's EventTypeWithStats, one per event name (and source)."""

    scope = "events"
    sorting_fields = {**EventNameListApi.sorting_fields, "label": "name"}
    default_sorting = ("-last_seen",)

    @extend_schema(operation_id="event_types:list", responses=None)
    def get(self, request):
        query = self.parse_query(EventTypeListQuery)
        queryset = selectors.event_name_list(
            organization=self.organization,
            customer_ids=query.get("customer_id"),
            external_customer_ids=query.get("external_customer_id"),
            sources=[query["source"]] if query.get("source") else None,
            query=query.get("query"),
            root_events=query.get("root_events", False),
            parent_id=query.get("parent_id"),
        )
        if query.get("organization_id") and self.organization.id not in query["organization_id"]:
            queryset = queryset.none()
        order_by = [*self.sorting()[:-1], "name", "source"]
        organization_id = self.organization.id
        stored = selectors.event_types_by_name(organization=self.organization)
        return self.paginated(
            queryset.order_by(*order_by),
            _ListPayloads(lambda row: event_type_payload(row, organization_id, stored.get(row["name"]))),
        )


class EventTypeUpdateInput(serializers.Serializer):
    label = serializers.CharField(min_length=1, max_length=128)
    label_property_selector = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=256)

    def validate_label_property_selector(self, value):
        return (value or "").strip() or None


class EventTypeDetailApi(PolarAPIView):
    """``PATCH /v1/event-types/{id}``: the merchant's label for an event type (the id the list shows)."""

    scope = "events"

    @extend_schema(operation_id="event_types:update", request=EventTypeUpdateInput, responses=None)
    def patch(self, request, id):
        event_type_id = self.parse_id(id)
        data = self.parse_body(EventTypeUpdateInput)
        event_type = services.event_type_update(organization=self.organization, id=event_type_id, **data)
        if event_type is None:
            raise ResourceNotFound()
        return self.respond(stored_event_type_payload(event_type))


class EventDetailApi(PolarAPIView):
    scope = "events"

    @extend_schema(operation_id="events:get", responses=None)
    def get(self, request, id):
        event = selectors.event_get(organization=self.organization, id=self.parse_id(id))
        if event is None:
            raise ResourceNotFound()
        event_type = selectors.event_types_by_name(organization=self.organization).get(event.name)
        return self.respond(event_payload(event, event_type))
