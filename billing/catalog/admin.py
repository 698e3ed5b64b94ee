"""Staff admin for the catalog. Money and access fields are read-only here; changes go through the
services (the actions below), so the admin writes nothing the API could not."""
from django.contrib import admin, messages

from billing.benefits import services as benefit_services
from billing.catalog import services as catalog_services
from billing.discounts import services as discount_services
from billing.models import (
    Benefit,
    BenefitGrant,
    Discount,
    DiscountAmount,
    DiscountProduct,
    DiscountRedemption,
    LicenseKey,
    LicenseKeyActivation,
    Product,
    ProductBenefit,
    ProductPrice,
)
from polar.admin_base import ReadOnlyAdmin, ReadOnlyInline
from polar.errors import PolarError


class ProductPriceInline(ReadOnlyInline):
    model = ProductPrice
    fk_name = "product"
    fields = ["amount_type", "price_currency", "price_amount", "minimum_amount", "unit_amount", "meter", "version", "is_archived", "archived_at"]
    readonly_fields = fields
    ordering = ["-created_at"]


class ProductBenefitInline(ReadOnlyInline):
    model = ProductBenefit
    fields = ["benefit", "order"]
    readonly_fields = fields


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "recurring_interval", "visibility", "is_archived", "created_at"]
    list_filter = ["is_archived", "visibility", "recurring_interval"]
    search_fields = ["name", "id"]
    readonly_fields = [
        "id", "organization", "recurring_interval", "recurring_interval_count", "is_archived", "archived_at",
        "created_at", "modified_at",
    ]
    fields = [
        "id", "organization", "name", "description", "visibility", "recurring_interval", "recurring_interval_count",
        "trial_interval", "trial_interval_count", "metadata", "is_archived", "archived_at", "created_at", "modified_at",
    ]
    inlines = [ProductPriceInline, ProductBenefitInline]
    actions = ["archive", "unarchive"]

    def has_add_permission(self, request):
        # Products are created with their prices through the API (one transaction, validated).
        return False

    def save_model(self, request, obj, form, change):
        catalog_services.product_update(product=obj, **{field: form.cleaned_data[field] for field in form.changed_data})

    @admin.action(description="Archive selected products")
    def archive(self, request, queryset):
        for product in queryset:
            catalog_services.product_update(product=product, is_archived=True)

    @admin.action(description="Unarchive selected products")
    def unarchive(self, request, queryset):
        for product in queryset:
            catalog_services.product_update(product=product, is_archived=False)


@admin.register(ProductPrice)
class ProductPriceAdmin(ReadOnlyAdmin):
    """Price versions are immutable: view only."""

    list_display = ["product", "amount_type", "price_currency", "price_amount", "version", "is_archived", "created_at"]
    list_filter = ["amount_type", "is_archived", "price_currency"]
    search_fields = ["id", "product__name"]



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
        "id", "organization", "type", "basis_points", "duration", "duration_in_months", "redemptions_count",
        "deleted_at", "created_at", "modified_at",
    ]
    fields = [
        "id", "organization", "name", "code", "type", "basis_points", "duration", "duration_in_months", "starts_at",
        "ends_at", "max_redemptions", "max_redemptions_per_customer", "redemptions_count", "metadata", "deleted_at",
        "created_at", "modified_at",
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



@admin.register(Benefit)
class BenefitAdmin(admin.ModelAdmin):
    list_display = ["description", "type", "organization", "visibility", "deleted_at", "created_at"]
    list_filter = ["type"]
    search_fields = ["description", "id"]
    readonly_fields = ["id", "organization", "type", "properties", "meter", "deleted_at", "created_at", "modified_at"]
    fields = ["id", "organization", "type", "description", "visibility", "properties", "meter", "metadata", "deleted_at", "created_at", "modified_at"]
    actions = ["delete_benefits"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        benefit_services.benefit_update(benefit=obj, **{field: form.cleaned_data[field] for field in form.changed_data})

    @admin.action(description="Delete selected benefits (revokes their grants)")
    def delete_benefits(self, request, queryset):
        for benefit in queryset:
            try:
                benefit_services.benefit_delete(benefit=benefit)
            except PolarError as exc:
                messages.error(request, f"{benefit}: {exc.detail}")


@admin.register(BenefitGrant)
class BenefitGrantAdmin(ReadOnlyAdmin):
    list_display = ["benefit", "customer", "subscription_id", "order_id", "granted_at", "revoked_at"]
    list_filter = ["benefit__type"]
    search_fields = ["customer__email", "id", "subscription_id", "order_id"]
    actions = ["revoke"]


    @admin.action(description="Revoke selected grants")
    def revoke(self, request, queryset):
        for grant in queryset.filter(revoked_at__isnull=True):
            benefit_services.benefit_grants_revoke_for(
                customer=grant.customer,
                subscription_id=grant.subscription_id,
                order_id=grant.order_id,
                benefits=[grant.benefit_id],
            )


class LicenseKeyActivationInline(ReadOnlyInline):
    model = LicenseKeyActivation
    fields = ["label", "meta", "conditions", "created_at"]
    readonly_fields = fields


@admin.register(LicenseKey)
class LicenseKeyAdmin(ReadOnlyAdmin):
    list_display = ["display_key", "customer", "benefit", "status", "usage", "limit_usage", "expires_at"]
    list_filter = ["status"]
    search_fields = ["customer__email", "id"]
    exclude = ["key"]
    inlines = [LicenseKeyActivationInline]

