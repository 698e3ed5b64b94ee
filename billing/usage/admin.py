"""Admin for meters, customer meters and events (imported by billing/admin.py). The partitioned events
table is large: its change list counts at most ``EventAdmin.COUNT_LIMIT`` rows and has no date drill-down."""

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from billing.models import CustomerMeter, Event, Meter
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


class CappedCountPaginator(Paginator):
    """Counts at most ``limit + 1`` rows (``COUNT(*)`` of a ``LIMIT`` subquery): the last page of millions of
    events is never needed, a count of all of them would scan the table."""

    limit = 10_000

    @cached_property
    def count(self):
        return self.object_list[: self.limit + 1].count()


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    COUNT_LIMIT = CappedCountPaginator.limit
    list_display = ["name", "timestamp", "source", "external_customer_id", "organization"]
    list_filter = ["source"]
    search_fields = ["=name", "=external_id", "=external_customer_id"]
    list_select_related = ["organization"]
    ordering = ["-timestamp"]
    paginator = CappedCountPaginator
    show_full_result_count = False
