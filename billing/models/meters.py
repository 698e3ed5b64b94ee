from django.db import models

from polar.models import OrganizationOwnedModel, TimestampedModel


class Meter(OrganizationOwnedModel):
    """A meter: which events count (``filter``) and how they add up (``aggregation``), in Polar's shape.

    ``filter``: ``{"conjunction": "and"|"or", "clauses": [...]}``; ``aggregation``: ``{"func": "count"}`` or
    ``{"func": "sum"|"max"|"min"|"avg"|"unique", "property": "..."}``. Both are validated by
    ``billing.usage.meters`` before they are stored and compiled to parameterised SQL by
    ``billing.usage.sql``: the stored JSON is data, never SQL text.
    """

    class Unit(models.TextChoices):
        SCALAR = "scalar"
        TOKEN = "token"
        CUSTOM = "custom"

    name = models.CharField(max_length=256)
    filter = models.JSONField()
    aggregation = models.JSONField()
    metadata = models.JSONField(default=dict, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    unit = models.CharField(max_length=16, choices=Unit.choices, default=Unit.SCALAR)
    # Display only (Polar's "custom" unit): a label and a multiplier for dashboards; quantities are raw.
    custom_label = models.CharField(max_length=64, null=True, blank=True)
    custom_multiplier = models.IntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"])]

    def __str__(self):
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class CustomerMeter(TimestampedModel):
    """The stable identity of a (customer, meter) pair, so ``/v1/customer-meters/{id}`` has an id to answer.

    Units are never stored here: consumed units are computed from the events table when read
    (``billing.usage.selectors.customer_meter_units``), so there is nothing to keep in sync on ingest.
    Rows are created lazily (``INSERT ... ON CONFLICT DO NOTHING``) the first time the pair is listed.
    """

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="customer_meters")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "meter"], name="customer_meter_unique_pair")]
        indexes = [models.Index(fields=["organization", "created_at"])]

    def __str__(self):
        # Reads customer and meter: select them with the row in lists.
        return f"{self.customer} — {self.meter.name}"
