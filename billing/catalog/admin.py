"""Staff admin for the catalog. Money and access fields are read-only here; changes go through the
services (the actions below), so the admin writes nothing the API could not."""

from django.contrib import admin

from billing.catalog import services as catalog_services
from billing.models import Product, ProductBenefit, ProductPrice
from polar.admin_base import ReadOnlyAdmin, ReadOnlyInline, ScopedModelAdmin, money


def price_label(price) -> str:
    """A price as staff read it: "Pro plan — monthly, $50.00 (v1)" (the model's ``__str__``)."""
    return "—" if price is None else str(price)


class ProductPriceInline(ReadOnlyInline):
    model = ProductPrice
    fk_name = "product"
    fields = [
        "amount_type",
        "price_money",
        "minimum_money",
        "unit_amount",
        "meter",
        "version",
        "is_archived",
        "archived_at",
    ]
    readonly_fields = fields
    ordering = ["-created_at"]
    price_money = money("price_amount", currency="price_currency", description="price")
    minimum_money = money("minimum_amount", currency="price_currency", description="minimum")


class ProductBenefitInline(ReadOnlyInline):
    model = ProductBenefit
    fields = ["benefit", "order"]
    readonly_fields = fields


@admin.register(Product)
class ProductAdmin(ScopedModelAdmin):
    list_display = ["name", "organization", "recurring_interval", "visibility", "is_archived", "created_at"]
    list_filter = ["is_archived", "visibility", "recurring_interval"]
    search_fields = ["name", "id"]
    readonly_fields = [
        "id",
        "organization",
        "recurring_interval",
        "recurring_interval_count",
        "is_archived",
        "archived_at",
        "created_at",
        "modified_at",
    ]
    fields = [
        "id",
        "organization",
        "name",
        "description",
        "visibility",
        "recurring_interval",
        "recurring_interval_count",
        "trial_interval",
        "trial_interval_count",
        "metadata",
        "is_archived",
        "archived_at",
        "created_at",
        "modified_at",
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

    organization_path = "product__organization"

    list_display = ["label", "amount_type", "price_money", "version", "is_archived", "created_at"]
    list_filter = ["amount_type", "is_archived", "price_currency"]
    search_fields = ["id", "product__name"]
    list_select_related = ["product", "meter"]
    price_money = money("price_amount", currency="price_currency", description="price")
    minimum_money = money("minimum_amount", currency="price_currency", description="minimum")
    maximum_money = money("maximum_amount", currency="price_currency", description="maximum")
    preset_money = money("preset_amount", currency="price_currency", description="preset")
    cap_money = money("cap_amount", currency="price_currency", description="cap")

    @admin.display(description="price", ordering="product__name")
    def label(self, obj):
        return price_label(obj)
