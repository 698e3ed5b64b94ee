"""Staff admin for discounts. Amounts and redemptions are read-only here; changes go through the
discounts services (the actions below), so the admin writes nothing the API could not."""

from django.contrib import admin, messages

from billing.discounts import services as discount_services
from billing.models import Discount, DiscountAmount, DiscountProduct, DiscountRedemption
from polar.admin_base import ReadOnlyAdmin, ReadOnlyInline
from polar.errors import PolarError


class DiscountAmountInline(ReadOnlyInline):
    model = DiscountAmount
    fields = ["currency", "amount"]
    readonly_fields = fields


class DiscountProductInline(ReadOnlyInline):
    model = DiscountProduct
    fields = ["product"]
    readonly_fields = fields


@admin.register(Discount)
class DiscountAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "organization", "type", "duration", "redemptions_count", "max_redemptions", "deleted_at"]
    list_filter = ["type", "duration"]
    search_fields = ["name", "code", "id"]
    readonly_fields = [
        "id",
        "organization",
        "type",
        "basis_points",
        "duration",
        "duration_in_months",
        "redemptions_count",
        "deleted_at",
        "created_at",
        "modified_at",
    ]
    fields = [
        "id",
        "organization",
        "name",
        "code",
        "type",
        "basis_points",
        "duration",
        "duration_in_months",
        "starts_at",
        "ends_at",
        "max_redemptions",
        "max_redemptions_per_customer",
        "redemptions_count",
        "metadata",
        "deleted_at",
        "created_at",
        "modified_at",
    ]
    inlines = [DiscountAmountInline, DiscountProductInline]
    actions = ["delete_discounts"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            discount_services.discount_update(discount=obj, **{field: form.cleaned_data[field] for field in form.changed_data})
        except PolarError as exc:
            messages.error(request, exc.detail)

    @admin.action(description="Delete selected discounts (soft)")
    def delete_discounts(self, request, queryset):
        for discount in queryset:
            discount_services.discount_delete(discount=discount)


@admin.register(DiscountRedemption)
class DiscountRedemptionAdmin(ReadOnlyAdmin):
    list_display = ["discount", "customer", "checkout_id", "subscription_id", "order_id", "created_at"]
    search_fields = ["discount__code", "customer__email"]
