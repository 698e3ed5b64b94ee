"""Input of the metrics API (query strings)."""

from rest_framework import serializers

from billing.analytics.definitions import BY_SLUG
from billing.analytics.selectors import INTERVAL_LIMITS


class MetricsQuery(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    interval = serializers.ChoiceField(choices=list(INTERVAL_LIMITS))
    timezone = serializers.CharField(required=False, default="UTC", max_length=64)
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    product_id = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=100)
    customer_id = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=100)
    billing_type = serializers.ListField(child=serializers.ChoiceField(choices=["one_time", "recurring"]), required=False)
    metrics = serializers.ListField(child=serializers.ChoiceField(choices=sorted(BY_SLUG)), required=False)

    def validate(self, data):
        if data["end_date"] < data["start_date"]:
            raise serializers.ValidationError({"end_date": "end_date must not be before start_date"})
        low, high = INTERVAL_LIMITS[data["interval"]]
        days = (data["end_date"] - data["start_date"]).days
        if not low <= days <= high:
            raise serializers.ValidationError(
                {"end_date": f"The {data['interval']} interval takes a range of {low} to {high} days (see /v1/metrics/limits)"}
            )
        return data


class EconomicsQuery(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    timezone = serializers.CharField(required=False, default="UTC", max_length=64)
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    product_id = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=100)
    customer_id = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=100)

    def validate(self, data):
        if data["end_date"] < data["start_date"]:
            raise serializers.ValidationError({"end_date": "end_date must not be before start_date"})
        if (data["end_date"] - data["start_date"]).days > 10 * 366:
            raise serializers.ValidationError({"end_date": "At most ten years"})
        return data


class MetricDashboardCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=256)
    metrics = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list, max_length=100)
    organization_id = serializers.UUIDField(required=False, allow_null=True)


class MetricDashboardUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=256, required=False, allow_null=True)
    metrics = serializers.ListField(child=serializers.CharField(max_length=64), required=False, allow_null=True, max_length=100)
