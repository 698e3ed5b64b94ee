from django import forms
from django.contrib import admin, messages
from guardian.admin import GuardedModelAdmin

from . import services
from .models import ALL_SCOPES, Organization, OrganizationAccessToken, OrganizationMember


class OrganizationMemberInline(admin.TabularInline):
    model = OrganizationMember
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(GuardedModelAdmin):
    list_display = ["slug", "name", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["slug", "name", "id"]
    readonly_fields = ["id", "created_at", "modified_at"]
    inlines = [OrganizationMemberInline]
    actions = ["mint_access_token"]

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
class OrganizationAccessTokenAdmin(admin.ModelAdmin):
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
