"""Event types: the merchant's label for an event name (events themselves live in the partitioned table)."""

import uuid

from django.db import models

from polar.models import OrganizationOwnedModel

# Event types are listed from the events themselves (one per name), before any row exists here: their
# id is derived from (organization, name), so a listed type can be updated by the id the list showed.
EVENT_TYPE_NAMESPACE = uuid.UUID("6f1f6a53-6c8e-4d1e-9a53-1d8c2f0e7b41")


def event_type_id(organization_id, name: str) -> uuid.UUID:
    return uuid.uuid5(EVENT_TYPE_NAMESPACE, f"{organization_id}:{name}")


class EventType(OrganizationOwnedModel):
    """A label for the events named ``name``. ``id`` is ``event_type_id(organization, name)``; a row exists
    once the merchant labelled the type (an unlabelled type's label is its name)."""

    name = models.CharField(max_length=256)
    label = models.CharField(max_length=128)
    label_property_selector = models.CharField(max_length=256, null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="event_type_unique_name")]

    def __str__(self):
        return self.label
