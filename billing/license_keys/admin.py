"""Staff admin for license keys: view only (keys change through the license key services)."""

from django.contrib import admin

from billing.models import LicenseKey, LicenseKeyActivation
from polar.admin_base import ReadOnlyAdmin, ReadOnlyInline


class LicenseKeyActivationInline(ReadOnlyInline):
    model = LicenseKeyActivation
    fields = ["label", "meta", "conditions", "created_at"]
    readonly_fields = fields


@admin.register(LicenseKey)
class LicenseKeyAdmin(ReadOnlyAdmin):
    list_display = ["display_key", "customer", "benefit", "status", "usage", "limit_usage", "expires_at"]
    list_filter = ["status"]
    search_fields = ["customer__email", "id"]
    list_select_related = ["customer", "benefit"]
    exclude = ["key"]
    inlines = [LicenseKeyActivationInline]
