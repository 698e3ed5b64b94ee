"""Admin bases shared by every app. Money and history rows are read-only in the admin: staff change them
through actions that call the services, never through forms.

``money("total_amount")`` and ``status()`` make admin columns that show minor units as money with their
currency (``$50.00``) and statuses as badges; on a read-only change page the raw amount fields are
replaced by their money column (``money_fields_in_change_view``).

``StaffScopedAdmin`` (a base of every admin here) decides what a staff member sees: only rows of the
organizations they were given (``polar.organizations.staff``), each admin naming the way from its row to the
organization in ``organization_path``. ``reason_action`` makes the admin actions that change money or access:
an intermediate page asks for the reason, and the action runs in a ``staff_action`` audit context."""

from auditlog.mixins import AuditlogHistoryAdminMixin
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.http import Http404
from django.template.response import TemplateResponse

from polar.audit import staff_action
from polar.errors import PolarError, PolarRequestValidationError
from polar.money import format_amount
from polar.organizations.staff import staff_may, staff_organizations
from polar.pages import status_badge


def money(field: str, *, currency: str = "currency", description: str | None = None):
    """An admin column showing ``obj.<field>`` (minor units) as money in ``obj.<currency>`` (a dotted path
    for a row that takes its currency from its parent, e.g. ``"order.currency"``)."""

    @admin.display(description=description or field.removesuffix("_amount").replace("_", " ") or field, ordering=field)
    def display(self, obj):
        amount = getattr(obj, field, None)
        if amount is None:
            return "—"
        code = obj
        for part in currency.split("."):  # "order.currency" for a row that has no currency of its own
            code = getattr(code, part, None)
        return format_amount(amount, code or "")

    display.money_field = field
    return display


def status(field: str = "status", *, description: str = "status"):
    """An admin column showing ``obj.<field>`` as a coloured badge."""

    @admin.display(description=description, ordering=field)
    def display(self, obj):
        return status_badge(getattr(obj, field, None))

    return display


def _money_columns(model_admin) -> dict:
    """{amount field name: attribute name of its money column} declared on the admin class."""
    columns = {}
    for name in dir(type(model_admin)):
        field = getattr(getattr(type(model_admin), name, None), "money_field", None)
        if field:
            columns[field] = name
    return columns


class MoneyFieldsMixin:
    """On change pages, amount fields are shown through their ``money(...)`` column (read-only)."""

    def get_fields(self, request, obj=None):
        columns = _money_columns(self)
        fields = [columns.get(name, name) for name in super().get_fields(request, obj)]
        return list(dict.fromkeys(fields))

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *_money_columns(self).values()]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- staff scoping ------------------------------------------------------------------------------------


class StaffScopedAdmin(AuditlogHistoryAdminMixin):
    """Rows of the organizations the staff member may access, and nothing else (superusers: everything).

    ``organization_path`` is the lookup from the admin's model to its organization (``"organization"``,
    ``"order__organization"``; ``""`` for the Organization admin itself; ``None`` for platform rows that
    belong to no merchant, which only superusers see). A row of another organization answers 404, on its
    change page as on its history. Actions: a staff member gets only those made with ``reason_action`` whose
    capability their role holds; the other actions (bulk maintenance) are for superusers.
    Each row's history is the auditlog trail (``<id>/auditlog/``; the admin's "History" shows it too)."""

    organization_path: str | None = "organization"
    show_auditlog_history_link = True

    def _scoped(self, request) -> bool:
        return not request.user.is_superuser

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not self._scoped(request):
            return queryset
        if self.organization_path is None:
            return queryset.none()
        lookup = f"{self.organization_path}__in" if self.organization_path else "pk__in"
        return queryset.filter(**{lookup: staff_organizations(request.user).values("pk")})

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None and self._scoped(request):
            # Another organization's row (or none at all): the same answer, so ids tell nothing.
            raise Http404("Not found")
        return obj

    def organization_id_of(self, obj):
        if self.organization_path is None:
            return None
        if self.organization_path == "":
            return obj.pk
        *hops, last = self.organization_path.split("__")
        for hop in hops:
            obj = getattr(obj, hop)
        return getattr(obj, f"{last}_id")

    def get_list_filter(self, request):
        # The plain organization filter lists every merchant's name; staff get the organizations of the rows.
        filters = list(super().get_list_filter(request))
        if self._scoped(request) and self.organization_path:
            filters = [(f, admin.RelatedOnlyFieldListFilter) if f == self.organization_path else f for f in filters]
        return filters

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self._scoped(request):
            return actions
        allowed = {}
        for name, (function, action_name, description) in actions.items():
            capability = getattr(function, "capability", None)
            if capability and request.user.has_perm(f"organizations.{capability}"):
                allowed[name] = (function, action_name, description)
        return allowed

    def history_view(self, request, object_id, extra_context=None):
        return self.auditlog_history_view(request, unquote(object_id), extra_context)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=500, strip=True)

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A reason is required.")
        return reason


def reason_action(*, capability: str, description: str, form_class=ReasonForm):
    """Decorate ``run(modeladmin, request, obj, data) -> str`` (``data`` the cleaned form, with its
    ``reason``) into an admin action: first an intermediate page asks for the reason (and the form's other
    fields), then ``run`` is called for each selected row the user may act on (``staff_may(user, capability,
    organization)``), inside ``staff_action`` so every audit entry written carries the user and the reason.
    Domain errors become error messages, row by row; ``run`` returns the success message."""

    def decorate(run):
        def action(modeladmin, request, queryset):
            form = form_class(request.POST if "apply" in request.POST else None)
            if form.is_bound and form.is_valid():
                for obj in queryset:
                    organization_id = modeladmin.organization_id_of(obj)
                    if not staff_may(request.user, capability, organization_id):
                        modeladmin.message_user(request, f"{obj}: not permitted.", messages.ERROR)
                        continue
                    try:
                        with staff_action(actor=request.user, action=run.__name__, reason=form.cleaned_data["reason"]):
                            note = run(modeladmin, request, obj, form.cleaned_data)
                    except PolarRequestValidationError as error:
                        modeladmin.message_user(request, f"{obj}: {error.detail}", messages.ERROR)
                    except (PolarError, ValueError) as error:
                        modeladmin.message_user(request, f"{obj}: {getattr(error, 'detail', error)}", messages.ERROR)
                    else:
                        modeladmin.message_user(request, f"{obj}: {note}", messages.SUCCESS)
                return None
            context = {
                **modeladmin.admin_site.each_context(request),
                "title": description,
                "form": form,
                "queryset": queryset,
                "action": run.__name__,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "opts": modeladmin.model._meta,
            }
            return TemplateResponse(request, "admin/reason_action.html", context)

        action.__name__ = run.__name__
        action.capability = capability
        return admin.action(description=description)(action)

    return decorate


class ScopedModelAdmin(StaffScopedAdmin, admin.ModelAdmin):
    """A ModelAdmin scoped to the staff member's organizations."""


class ReadOnlyAdmin(StaffScopedAdmin, MoneyFieldsMixin, admin.ModelAdmin):
    """Read-only, scoped to the staff member's organizations."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PlatformReadOnlyAdmin(ReadOnlyAdmin):
    """Rows of the platform (no organization): superusers only."""

    organization_path = None
