"""Staff admin for benefits and their grants. Changes go through the benefits services (the actions
below), so the admin writes nothing the API could not."""

from django.contrib import admin, messages

from billing.benefits import services as benefit_services
from billing.models import Benefit, BenefitGrant
from polar.admin_base import ReadOnlyAdmin, ScopedModelAdmin
from polar.errors import PolarError


@admin.register(Benefit)
class BenefitAdmin(ScopedModelAdmin):
    list_display = ["description", "type", "organization", "visibility", "deleted_at", "created_at"]
    list_filter = ["type"]
    search_fields = ["description", "id"]
    list_select_related = ["organization"]
    readonly_fields = ["id", "organization", "type", "properties", "meter", "deleted_at", "created_at", "modified_at"]
    fields = [
        "id",
        "organization",
        "type",
        "description",
        "visibility",
        "properties",
        "meter",
        "metadata",
        "deleted_at",
        "created_at",
        "modified_at",
    ]
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
    list_select_related = ["benefit", "customer"]
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
