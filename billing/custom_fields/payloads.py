"""Output shapes: Polar's ``CustomField*`` (by ``type``) and ``AttachedCustomField`` (on a product)."""

from rest_framework import serializers

from billing.models import CustomField, ProductCustomField
from polar.api.formatting import dt


def custom_field_output(field: CustomField) -> dict:
    return {
        "id": str(field.id),
        "created_at": dt(field.created_at),
        "modified_at": dt(field.modified_at),
        "metadata": field.metadata or {},
        "type": field.type,
        "slug": field.slug,
        "name": field.name,
        "organization_id": str(field.organization_id),
        "properties": field.properties or {},
    }


class CustomFieldOutput(serializers.BaseSerializer):
    def to_representation(self, field: CustomField) -> dict:
        return custom_field_output(field)


def attached_custom_fields_output(product) -> list[dict]:
    """A product's attached fields, in order (deleted fields are detached when deleted)."""
    links = getattr(product, "custom_field_links", None)
    if links is None:
        links = list(
            ProductCustomField.objects.filter(product=product, custom_field__deleted_at__isnull=True)
            .select_related("custom_field")
            .order_by("order")
        )
    return [
        {
            "custom_field_id": str(link.custom_field_id),
            "custom_field": custom_field_output(link.custom_field),
            "order": link.order,
            "required": link.required,
        }
        for link in links
    ]
