"""``/v1/customer-meters/``: per customer and meter, consumed and credited units for the current period."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from billing.usage import selectors
from billing.usage.api_events import _ListPayloads
from billing.usage.payloads import customer_meter_payload
from polar.api.views import PolarAPIView
from polar.errors import ResourceNotFound


class _ComputedPage(list):
    """A computed list for PolarPagination, which calls ``count()`` with no argument as on a queryset.
    (Kernel note for the integrator: ``hasattr(list, "count")`` is true, so plain lists crash there.)"""

    def count(self, *args):
        return len(self) if not args else super().count(*args)


class CustomerMeterListQuery(serializers.Serializer):
    customer_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    external_customer_id = serializers.ListField(child=serializers.CharField(max_length=256), required=False)
    meter_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)


class CustomerMeterListApi(PolarAPIView):
    scope = "customer_meters"
    sorting_fields = {"created_at": "created_at", "modified_at": "modified_at"}

    @extend_schema(operation_id="customer_meters:list", responses=None)
    def get(self, request):
        query = self.parse_query(CustomerMeterListQuery)
        sorting = self.sorting()
        rows = selectors.customer_meter_list(
            organization=self.organization,
            customer_ids=query.get("customer_id"),
            external_customer_ids=query.get("external_customer_id"),
            meter_ids=query.get("meter_id"),
        )
        if query.get("organization_id") and self.organization.id not in query["organization_id"]:
            rows = []
        # The list is computed (units come from the events table), so it is ordered here, stably.
        for field in reversed(sorting):
            name = field.lstrip("-")
            rows.sort(key=lambda row: (getattr(row, name) is None, getattr(row, name) or 0), reverse=field.startswith("-"))
        return self.paginated(_ComputedPage(rows), _ListPayloads(customer_meter_payload))


class CustomerMeterDetailApi(PolarAPIView):
    scope = "customer_meters"

    @extend_schema(operation_id="customer_meters:get", responses=None)
    def get(self, request, id):
        row = selectors.customer_meter_get(organization=self.organization, id=self.parse_id(id))
        if row is None:
            raise ResourceNotFound()
        return self.respond(customer_meter_payload(row))
