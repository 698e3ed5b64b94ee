from django.contrib import admin, messages

from polar.admin_base import ScopedModelAdmin

from . import services
from .models import Customer


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Active"), ("yes", "Deleted")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Customer)
class CustomerAdmin(ScopedModelAdmin):
    """Read-only view of customers: changes go through the API (and so through customers.services),
    which keeps the uniqueness rules and webhooks in one place. Deletion is the soft delete action."""

    list_display = ["email", "name", "external_id", "type", "organization", "created_at", "deleted_at"]
    list_filter = ["type", DeletedFilter, "organization"]
    search_fields = ["email", "external_id", "name", "billing_name", "=id"]
    list_select_related = ["organization"]
    ordering = ["-created_at"]
    actions = ["soft_delete"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Customer._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Hard deletion would orphan orders and ledger rows; the soft delete action is the way.
        return False

    @admin.action(description="Delete selected customers (soft delete, emits customer.deleted)")
    def soft_delete(self, request, queryset):
        deleted = 0
        for customer in queryset.filter(deleted_at__isnull=True).order_by("pk"):
            services.customer_delete(customer=customer)
            deleted += 1
        self.message_user(request, f"Deleted {deleted} customer(s).", messages.SUCCESS)
