from django.db import models

from polar.models import OrganizationOwnedModel


class Meter(OrganizationOwnedModel):
    """A meter: which events count (``filter``) and how they add up (``aggregation``), in Polar's shape.

    ``filter``: ``{"conjunction": "and"|"or", "clauses": [...]}``; ``aggregation``: ``{"func": "count"}`` or
    ``{"func": "sum"|"max"|"min"|"avg"|"unique", "property": "..."}``.
    """

    name = models.CharField(max_length=256)
    filter = models.JSONField()
    aggregation = models.JSONField()
    metadata = models.JSONField(default=dict, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"])]

    def __str__(self):
        return self.name
