"""Admin bases shared by every app. Money and history rows are read-only in the admin: staff change them
through actions that call the services, never through forms.

``money("total_amount")`` and ``status()`` make admin columns that show minor units as money with their
currency (``$50.00``) and statuses as badges; on a read-only change page the raw amount fields are
replaced by their money column (``money_fields_in_change_view``)."""

from django.contrib import admin

from polar.money import format_amount
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


class ReadOnlyAdmin(MoneyFieldsMixin, admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
