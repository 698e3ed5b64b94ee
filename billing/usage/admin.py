"""Admin for meters and customer meters (imported by billing/admin.py). Events are read through the API:
the partitioned events table is too large for admin change lists."""

from django.contrib import admin

from billing.models import CustomerMeter, Meter
from polar.admin_base import ReadOnlyAdmin


@admin.register(Meter)
class MeterAdmin(ReadOnlyAdmin):
    list_display = ["name", "organization", "created_at", "archived_at"]
    list_select_related = ["organization"]
    list_filter = ["organization"]
    search_fields = ["id", "name"]
    readonly_fields = [
        "id",
        "organization",
        "name",
        "filter",
        "aggregation",
        "metadata",
        "created_at",
        "modified_at",
        "archived_at",
    ]


@admin.register(CustomerMeter)
class CustomerMeterAdmin(ReadOnlyAdmin):
    list_display = ["id", "organization", "customer", "meter", "created_at"]
    list_filter = ["organization"]
    search_fields = ["id", "customer__email", "customer__external_id", "meter__name"]
    raw_id_fields = ["customer", "meter"]
    list_select_related = ["organization", "customer", "meter"]
