"""Renderers of usage resources in Polar's wire shapes (plain dicts: cheap, and exact about required keys)."""

from billing.models import event_type_id
from customers.payloads import CustomerOutput


def customer_payload(customer) -> dict | None:
    """Polar's CustomerIndividual / CustomerTeam: the one rendering of a customer (customers' output)."""
    if customer is None:
        return None

    return CustomerOutput(customer).data


def event_metadata_value(metadata, selector: str):
    """The value at ``selector`` in an event's metadata: a dotted path, with or without the leading
    ``metadata.`` (Polar's examples: ``subject``, ``metadata.subject``). None when a step is missing."""
    path = selector.split(".")
    if path[0] == "metadata" and len(path) > 1:
        path = path[1:]
    value = metadata
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def event_label(event, event_type=None) -> str:
    """What an event is called on screen: the merchant's label for its type, or, when the type names a
    ``label_property_selector``, the event's own value at that metadata path (e.g. the subject of each
    e-mail sent). A missing, empty or non-scalar value falls back to the type's label; no type, the name."""
    if event_type is None:
        return event.name
    if event_type.label_property_selector:
        value = event_metadata_value(event.metadata or {}, event_type.label_property_selector)
        if isinstance(value, bool):
            value = "true" if value else "false"  # as it was sent, in JSON
        if isinstance(value, str | int | float) and str(value).strip():
            return str(value)
    return event_type.label


def event_payload(event, event_type=None) -> dict:
    """Polar's UserEvent (``source: "user"``); system events use the same keys. ``event_type``: the
    merchant's ``EventType`` for the event's name, if any (its label, see ``event_label``)."""
    return {
        "id": str(event.id),
        "timestamp": event.timestamp,
        "organization_id": str(event.organization_id),
        "customer_id": str(event.customer_id) if event.customer_id else None,
        "customer": customer_payload(event.customer) if event.customer_id else None,
        "external_customer_id": event.external_customer_id,
        "member_id": None,
        "external_member_id": None,
        "parent_id": event.parent_id,
        "label": event_label(event, event_type),
        "name": event.name,
        "source": event.source,
        "metadata": event.metadata,
    }


def event_name_payload(row, event_type=None) -> dict:
    """Polar's EventName, from a row of ``selectors.event_name_list`` (labelled by the merchant's type, if any)."""
    return {
        "name": row["name"],
        "label": event_type.label if event_type is not None else row["name"],
        "source": row["source"],
        "occurrences": row["occurrences"],
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
    }


def event_type_payload(row, organization_id, stored=None) -> dict:
    """Polar's EventTypeWithStats from a row of ``selectors.event_name_list`` and the merchant's stored
    label, if any (``stored``: an ``EventType``). The id is derived from the name (``event_type_id``);
    ``created_at`` / ``modified_at`` are null until the type is labelled."""
    return {
        **event_name_payload(row),
        "id": str(event_type_id(organization_id, row["name"])),
        "created_at": stored.created_at if stored else None,
        "modified_at": stored.modified_at if stored else None,
        "label": stored.label if stored else row["name"],
        "label_property_selector": stored.label_property_selector if stored else None,
        "organization_id": str(organization_id),
    }


def stored_event_type_payload(event_type) -> dict:
    """Polar's EventType (the answer of ``PATCH /v1/event-types/{id}``)."""
    return {
        "id": str(event_type.id),
        "created_at": event_type.created_at,
        "modified_at": event_type.modified_at,
        "name": event_type.name,
        "label": event_type.label,
        "label_property_selector": event_type.label_property_selector,
        "organization_id": str(event_type.organization_id),
    }


def meter_payload(meter) -> dict:
    return {
        "id": str(meter.id),
        "created_at": meter.created_at,
        "modified_at": meter.modified_at,
        "organization_id": str(meter.organization_id),
        "name": meter.name,
        "filter": meter.filter,
        "aggregation": meter.aggregation,
        "metadata": meter.metadata or {},
        "unit": meter.unit,
        "custom_label": meter.custom_label,
        "custom_multiplier": meter.custom_multiplier,
        "archived_at": meter.archived_at,
    }


def customer_meter_payload(customer_meter) -> dict:
    units = customer_meter.units
    return {
        "id": str(customer_meter.id),
        "created_at": customer_meter.created_at,
        "modified_at": customer_meter.modified_at,
        "customer_id": str(customer_meter.customer_id),
        "meter_id": str(customer_meter.meter_id),
        "consumed_units": float(units.consumed),
        "credited_units": int(units.credited),
        "balance": float(units.balance),
        # Extra keys (``billing.usage.customer_meter_amounts``): the running amount of the period so far.
        "amount": getattr(customer_meter, "amount", None),
        "currency": getattr(customer_meter, "currency", None),
        "customer": customer_payload(customer_meter.customer),
        "meter": meter_payload(customer_meter.meter),
    }
