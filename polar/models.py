"""Abstract bases shared by every app's models."""

import uuid

from django.db import models


class TimestampedModel(models.Model):
    """A uuid primary key plus the creation/modification stamps the Polar wire format carries."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Polar reports modified_at as null until the first change.
    modified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class OrganizationOwnedModel(TimestampedModel):
    """Every merchant-owned row names its tenant; selectors filter on it."""

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True
