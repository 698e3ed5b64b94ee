from auditlog.admin import LogEntryAdmin as AuditlogLogEntryAdmin
from auditlog.models import LogEntry
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from guardian.admin import GuardedModelAdmin

from polar.admin_base import ReasonForm, ScopedModelAdmin, reason_action

from . import services, staff
from .models import ALL_SCOPES, Organization, OrganizationAccessToken, OrganizationMember


class OrganizationMemberInline(admin.TabularInline):
    model = OrganizationMember
    extra = 0
    raw_id_fields = ["user"]


class StaffAssignForm(ReasonForm):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=[(role, name) for role, name in staff.ROLES.items()])


class StaffRevokeForm(ReasonForm):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=[("", "keep the role (other organizations)"), *staff.ROLES.items()], required=False)


@admin.register(Organization)
class OrganizationAdmin(ScopedModelAdmin, GuardedModelAdmin):
    """Merchants. Risk actions: block and unblock new checkouts, assign staff (superusers); payouts and
    billing.approvals add the payout freeze and the staff payout (the kernel cannot import them)."""

    organization_path = ""
    list_display = ["slug", "name", "status", "checkouts_blocked", "four_eyes_threshold", "created_at"]
    list_filter = ["status", "checkouts_blocked"]
    search_fields = ["slug", "name", "id"]
    readonly_fields = ["id", "created_at", "modified_at", "checkouts_blocked", "checkouts_blocked_reason"]
    inlines = [OrganizationMemberInline]
    actions = ["mint_access_token", "block_checkouts", "unblock_checkouts", "assign_staff", "revoke_staff"]

    @reason_action(capability="block_checkouts", description="Block new checkouts")
    def block_checkouts(self, request, organization, data):
        services.organization_checkouts_block(organization=organization, blocked=True, reason=data["reason"])
        return "new checkouts are refused (403 CheckoutsBlocked) until unblocked."

    @reason_action(capability="block_checkouts", description="Unblock new checkouts")
    def unblock_checkouts(self, request, organization, data):
        services.organization_checkouts_block(organization=organization, blocked=False, reason=data["reason"])
        return "new checkouts accepted again."

    @reason_action(capability="assign_staff", description="Assign a staff member", form_class=StaffAssignForm)
    def assign_staff(self, request, organization, data):
        user, generated = staff.staff_user_get_or_create(email=data["email"])
        staff.staff_access_grant(
            actor=request.user, user=user, role=data["role"], organization=organization, reason=data["reason"]
        )
        created = f" New user; password (shown once): {generated}" if generated else ""
        return f"{user.email} is {data['role']} on {organization.slug}.{created}"

    @reason_action(capability="assign_staff", description="Revoke a staff member's access", form_class=StaffRevokeForm)
    def revoke_staff(self, request, organization, data):
        user = get_user_model().objects.filter(email__iexact=data["email"]).first()
        if user is None:
            return f"no user {data['email']}."
        staff.staff_access_revoke(
            actor=request.user, user=user, organization=organization, reason=data["reason"], role=data["role"] or None
        )
        return f"{user.email} no longer has access to {organization.slug}."

    @admin.action(description="Mint an access token (shown once)")
    def mint_access_token(self, request, queryset):
        for organization in queryset:
            _token, raw = services.access_token_create(organization=organization, comment=f"admin:{request.user}")
            self.message_user(
                request,
                f"New token for {organization.slug} (copy it now, it will not be shown again): {raw}",
                messages.WARNING,
            )


class AccessTokenCreationForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=[(s, s) for s in ALL_SCOPES], initial=ALL_SCOPES, required=False)

    class Meta:
        model = OrganizationAccessToken
        fields = ["organization", "comment", "scopes", "expires_at"]


@admin.register(OrganizationAccessToken)
class OrganizationAccessTokenAdmin(ScopedModelAdmin):
    list_display = ["token_hint", "organization", "comment", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["organization"]
    search_fields = ["token_hint", "comment", "organization__slug"]
    readonly_fields = ["id", "token_hint", "created_at", "modified_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = AccessTokenCreationForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [*self.readonly_fields, "organization", "scopes", "expires_at"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["comment"])
            return
        token, raw = services.access_token_create(
            organization=form.cleaned_data["organization"],
            comment=form.cleaned_data["comment"],
            scopes=form.cleaned_data["scopes"],
        )
        if form.cleaned_data.get("expires_at"):
            token.expires_at = form.cleaned_data["expires_at"]
            token.save(update_fields=["expires_at"])
        obj.pk = token.pk
        obj.__dict__.update(token.__dict__)
        self.message_user(request, f"Token created (copy it now, it will not be shown again): {raw}", messages.WARNING)

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            services.access_token_revoke(token=token)
        self.message_user(request, f"Revoked {queryset.count()} token(s).")


admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class LogEntryAdmin(AuditlogLogEntryAdmin):
    """The audit log, read-only to everyone (superusers included). The whole log spans every merchant, so
    only superusers list it; staff read each row's own history from that row's page (``<id>/auditlog/``),
    which the row's admin scopes to their organizations."""

    list_display = [*AuditlogLogEntryAdmin.list_display, "reason"]

    @admin.display(description="reason")
    def reason(self, obj):
        return (obj.additional_data or {}).get("reason", "") if isinstance(obj.additional_data, dict) else ""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}
