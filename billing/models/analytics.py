"""User-defined metrics dashboards (Polar's MetricDashboardSchema): a named list of metric slugs."""

from django.contrib.postgres.fields import ArrayField
from django.db import models

from polar.models import OrganizationOwnedModel


class MetricDashboard(OrganizationOwnedModel):
    """``metrics`` are slugs of ``billing.analytics.definitions.METRICS`` (checked by the service)."""

    name = models.CharField(max_length=256)
    metrics = ArrayField(models.CharField(max_length=64), default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"])]

    def __str__(self):
        return self.name
