"""Custom fields: create, update, delete, and attaching them to products.

No webhook: Polar has no custom-field event (a product whose attached fields change emits
``product.updated`` from the catalog, which calls ``product_custom_fields_set`` in its transaction).
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_date, parse_datetime

from billing.models import CustomField, CustomFieldType, ProductCustomField
from polar import clock
from polar.errors import PolarRequestValidationError


def _invalid(loc, msg, type_="value_error"):
    return PolarRequestValidationError.single(list(loc), msg, type_)


def _slug_taken(*, organization, slug, exclude=None) -> bool:
    queryset = CustomField.objects.filter(organization=organization, slug=slug, deleted_at__isnull=True)
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude.pk)
    return queryset.exists()


def custom_field_create(*, organization, type, slug, name, properties, metadata=None) -> CustomField:
    """Create a custom field. 422 on ``slug`` when a live field of the organization already has it (the
    partial unique constraint decides a race the same way)."""
    if _slug_taken(organization=organization, slug=slug):
        raise _invalid(("body", "slug"), "Custom field with this slug already exists.")
    try:
        with transaction.atomic():
            return CustomField.objects.create(
                organization=organization, type=type, slug=slug, name=name, properties=properties or {}, metadata=metadata or {}
            )
    except IntegrityError:
        raise _invalid(("body", "slug"), "Custom field with this slug already exists.")


def custom_field_update(*, field: CustomField, type, **changes) -> CustomField:
    """Change a field's name, slug, properties or metadata (never its type: 422 on ``type``). Locks the row.
    A new slug must be free among the organization's live fields. Answers stored under the old slug stay
    under it (nothing stores answers yet: see docs/architecture.md)."""
    with transaction.atomic():
        field = CustomField.objects.select_for_update().get(pk=field.pk)
        if type != field.type:
            raise _invalid(("body", "type"), "The type of a custom field can't be changed.")
        slug = changes.get("slug")
        if slug is not None and slug != field.slug and _slug_taken(organization=field.organization, slug=slug, exclude=field):
            raise _invalid(("body", "slug"), "Custom field with this slug already exists.")
        for name in ("slug", "name", "properties"):
            if changes.get(name) is not None:
                setattr(field, name, changes[name])
        if "metadata" in changes:
            field.metadata = changes["metadata"] or {}
        field.modified_at = clock.now()
        field.save()
    return field


def custom_field_delete(*, field: CustomField) -> None:
    """Soft delete (the slug becomes free) and detach from every product, in one transaction."""
    with transaction.atomic():
        field = CustomField.objects.select_for_update().get(pk=field.pk)
        if field.deleted_at is None:
            field.deleted_at = field.modified_at = clock.now()
            field.save(update_fields=["deleted_at", "modified_at"])
            ProductCustomField.objects.filter(custom_field=field).delete()


def product_custom_fields_set(*, product, attached: list[dict], loc=("body", "attached_custom_fields")) -> None:
    """Replace the fields asked when buying ``product`` by ``attached`` (``{"custom_field_id", "required"}``,
    in order). Call it inside the caller's transaction (the catalog's product create or update). 422 with
    ``loc`` for a field that is not a live field of the product's organization, or listed twice."""
    ids = [entry["custom_field_id"] for entry in attached]
    found = set(
        CustomField.objects.filter(organization_id=product.organization_id, pk__in=ids, deleted_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    errors = []
    for index, field_id in enumerate(ids):
        if field_id not in found:
            errors.append({"loc": [*loc, index, "custom_field_id"], "msg": "Custom field does not exist.", "type": "value_error"})
        elif field_id in ids[:index]:
            errors.append(
                {"loc": [*loc, index, "custom_field_id"], "msg": "Custom field is attached twice.", "type": "value_error"}
            )
    if errors:
        raise PolarRequestValidationError(errors)
    ProductCustomField.objects.filter(product=product).delete()
    ProductCustomField.objects.bulk_create(
        [
            ProductCustomField(product=product, custom_field_id=entry["custom_field_id"], order=index, required=entry["required"])
            for index, entry in enumerate(attached)
        ]
    )


# --- answers (``custom_field_data``) ----------------------------------------------------------------------
# Polar validates answers with a pydantic model built from the product's attached fields; these checks give
# the same error types and messages, so a client's 422 handling works unchanged. Keys that are not an
# attached field's slug are dropped, and every attached slug is present in the result (null, or false for a
# checkbox), as Polar's ``model_dump`` returns them.


def _options_text(values) -> str:
    quoted = [repr(value) for value in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _bounds_error(value, properties, *, shown=str):
    if properties.get("ge") is not None and value < properties["ge"]:
        return "greater_than_equal", f"Input should be greater than or equal to {shown(properties['ge'])}"
    if properties.get("le") is not None and value > properties["le"]:
        return "less_than_equal", f"Input should be less than or equal to {shown(properties['le'])}"
    return None


def _parse_datetime(value: str) -> dt.datetime | None:
    try:
        parsed = parse_datetime(value)
        if parsed is None and (day := parse_date(value)) is not None:
            parsed = dt.datetime.combine(day, dt.time())
    except ValueError:  # well-formed but impossible, e.g. 2026-02-30
        return None
    return parsed


def _answer(field: CustomField, value):
    """``(clean value, None)`` or ``(None, (type, msg))`` for one non-null answer to ``field``."""
    properties = field.properties or {}
    if field.type == CustomFieldType.TEXT:
        if not isinstance(value, str):
            return None, ("string_type", "Input should be a valid string")
        low, high = properties.get("min_length"), properties.get("max_length")
        if low is not None and len(value) < low:
            return None, ("string_too_short", f"String should have at least {low} character{'s' if low != 1 else ''}")
        if high is not None and len(value) > high:
            return None, ("string_too_long", f"String should have at most {high} character{'s' if high != 1 else ''}")
        return value, None
    if field.type == CustomFieldType.NUMBER:
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
            value = int(value)  # pydantic's lax mode reads an integer written as a string
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str):
            return None, ("int_parsing", "Input should be a valid integer, unable to parse string as an integer")
        if isinstance(value, bool) or not isinstance(value, int):
            return None, ("int_type", "Input should be a valid integer")
        return value, _bounds_error(value, properties)
    if field.type == CustomFieldType.DATE:
        parsed = _parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            return None, ("datetime_parsing", "Input should be a valid datetime")
        bounds = {key: dt.datetime.fromtimestamp(properties[key], dt.UTC).date() for key in ("ge", "le") if properties.get(key)}
        return parsed.isoformat(), _bounds_error(parsed.date(), bounds)
    if field.type == CustomFieldType.CHECKBOX:
        if not isinstance(value, bool):
            return None, ("bool_type", "Input should be a valid boolean")
        return value, None
    options = [option["value"] for option in properties.get("options", [])]
    if value not in options:
        return None, ("literal_error", f"Input should be {_options_text(options)}")
    return value, None


def custom_field_data_validate(*, product, data: dict | None, required: bool, loc=("body", "custom_field_data")) -> dict:
    """The answers ``data`` to ``product``'s attached custom fields, checked and normalised (dates as ISO
    8601). ``required``: a field attached as required must be answered (a checkout's confirmation); at
    creation and update answers may still be missing. 422 listing every wrong answer, with ``loc`` ending in
    the field's slug. Reads the attachments; writes nothing."""
    data = data or {}
    links = ProductCustomField.objects.filter(product=product, custom_field__deleted_at__isnull=True).select_related(
        "custom_field"
    )
    clean, errors = {}, []
    for link in links.order_by("order"):
        field, value = link.custom_field, data.get(link.custom_field.slug)
        must_answer, error = link.required and required, None
        if value is None:
            error = ("missing", "Field required") if must_answer else None
            clean[field.slug] = False if field.type == CustomFieldType.CHECKBOX else None
        else:
            clean[field.slug], error = _answer(field, value)
            if error is None and field.type == CustomFieldType.CHECKBOX and must_answer and value is not True:
                # A required checkbox must be ticked (Polar's ``Literal[True]``).
                error = ("literal_error", "Input should be True")
        if error is not None:
            errors.append({"loc": [*loc, field.slug], "msg": error[1], "type": error[0]})
    if errors:
        raise PolarRequestValidationError(errors)
    return clean
