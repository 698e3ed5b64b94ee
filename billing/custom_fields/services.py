"""Custom fields: create, update, delete, and attaching them to products.

No webhook: Polar has no custom-field event (a product whose attached fields change emits
``product.updated`` from the catalog, which calls ``product_custom_fields_set`` in its transaction).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from billing.models import CustomField, ProductCustomField
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
