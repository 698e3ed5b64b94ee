"""Usage events. The table is partitioned by month and written with raw SQL (see billing/usage/services.py);
these models are unmanaged views of it for reads, the admin and tests.

Layout (created by migration ``0002_usage``):

- ``billing_event``: ``PARTITION BY RANGE (timestamp)``, one partition a month named ``billing_event_pYYYYMM``,
  primary key ``(id, timestamp)`` (PostgreSQL requires the partition key in every unique index).
- ``billing_event_external_id``: the idempotency guard, primary key ``(organization_id, external_id)``, not
  partitioned, so an ``external_id`` is unique per organization for all time whatever month its event is in.
"""

from django.db import models


class Event(models.Model):
    class Source(models.TextChoices):
        USER = "user"
        SYSTEM = "system"

    id = models.UUIDField(primary_key=True)
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    timestamp = models.DateTimeField()
    # When the row was written; `timestamp` is when the event happened (given by the merchant).
    ingested_at = models.DateTimeField()
    name = models.CharField(max_length=128)
    source = models.CharField(max_length=16, choices=Source.choices)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    external_customer_id = models.CharField(max_length=256, null=True)
    external_id = models.CharField(max_length=256, null=True)
    # Polar allows either an event id or an external id here, so it is text.
    parent_id = models.CharField(max_length=256, null=True)
    metadata = models.JSONField(default=dict)

    class Meta:
        managed = False
        db_table = "billing_event"

    def __str__(self):
        return f"{self.name} @ {self.timestamp.isoformat()}"


class EventExternalId(models.Model):
    """Idempotency guard: one row per (organization, external_id), ever. Written in the same statement as the
    event (a CTE), so a crash leaves neither or both."""

    # Django needs a single-column key for an unmanaged model; the real primary key is
    # (organization_id, external_id) — see the migration.
    event_id = models.UUIDField(primary_key=True)
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    external_id = models.CharField(max_length=256)
    event_timestamp = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "billing_event_external_id"
