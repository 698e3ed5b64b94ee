"""Custom fields: extra questions a merchant asks at checkout, attached to products."""

from django.db import models
from django.db.models import Q

from polar.models import OrganizationOwnedModel, TimestampedModel


class CustomFieldType(models.TextChoices):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHECKBOX = "checkbox"
    SELECT = "select"


class CustomField(OrganizationOwnedModel):
    """One question. ``slug`` (lower-case ASCII letters, digits, ``-`` and ``_``) is the key its answers are
    stored under; it is unique among the organization's live fields. ``properties`` holds the form
    settings of its ``type`` (Polar's ``CustomField*Properties``); the type never changes. Deletion is
    soft (the slug can be reused) and detaches the field from every product."""

    type = models.CharField(max_length=16, choices=CustomFieldType.choices)
    slug = models.CharField(max_length=256)
    name = models.CharField(max_length=256)
    properties = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "slug"], condition=Q(deleted_at__isnull=True), name="custom_field_live_slug_unique"
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.slug})"


class ProductCustomField(TimestampedModel):
    """A custom field asked when buying ``product``, in ``order``; ``required`` answers must be given."""

    product = models.ForeignKey("billing.Product", on_delete=models.CASCADE, related_name="product_custom_fields")
    custom_field = models.ForeignKey(CustomField, on_delete=models.CASCADE, related_name="+")
    order = models.PositiveIntegerField(default=0)
    required = models.BooleanField(default=False)

    class Meta:
        ordering = ["order"]
        constraints = [models.UniqueConstraint(fields=["product", "custom_field"], name="product_custom_field_unique")]

    def __str__(self):
        return f"{self.product_id} #{self.order}"
