"""Staff admin for discounts. Amounts and redemptions are read-only here; changes go through the
discounts services (the actions below), so the admin writes nothing the API could not."""

from django.contrib import admin, messages

from billing.discounts import services as discount_services
from billing.models import Discount, DiscountAmount, DiscountProduct, DiscountRedemption
from polar.admin_base import ReadOnlyAdmin, ReadOnlyInline, ScopedModelAdmin, money
from polar.errors import PolarError
from polar.money import format_amount


class DiscountAmountInline(ReadOnlyInline):
    model = DiscountAmount
    fields = ["currency", "amount_money"]
    readonly_fields = fields
    amount_money = money("amount", description="amount off")


class DiscountProductInline(ReadOnlyInline):
    model = DiscountProduct
    fields = ["product"]
    readonly_fields = fields


@admin.register(Discount)
class DiscountAdmin(ScopedModelAdmin):
    list_display = [
        "name",
        "code",
        "organization",
        "off",
        "duration",
        "redemptions_count",
        "max_redemptions",
        "deleted_at",
    ]
    list_select_related = ["organization"]
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

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("amounts")

    @admin.display(description="off", ordering="basis_points")
    def off(self, obj):
        """ "10 % off" or the fixed amounts off in money ("$5.00, €4.50")."""
        if obj.type == Discount.Type.PERCENTAGE:
            return f"{(obj.basis_points or 0) / 100:g} %"
        return ", ".join(format_amount(row.amount, row.currency) for row in obj.amounts.all()) or "—"

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
    organization_path = "discount__organization"
    list_display = ["discount", "customer", "checkout_id", "subscription_id", "order_id", "created_at"]
    search_fields = ["discount__code", "customer__email"]
    list_select_related = ["discount", "customer"]
