"""Meters: create, update, archive. The filter and aggregation are validated and normalised here
(``billing.usage.sql``) so that only well-formed JSON is ever compiled to SQL."""

from django.db import transaction

from billing.models import Meter
from billing.usage.services import ValidationErrorList, check_metadata
from billing.usage.sql import FilterError, validate_aggregation, validate_filter
from polar import clock
from polar.errors import PolarRequestValidationError

MAX_NAME_LENGTH = 256
MAX_CUSTOM_LABEL_LENGTH = 64


def _validated(data: dict, *, partial: bool) -> dict:
    """Validate the writable fields present in ``data``; raise 422 with ``["body", ...]`` locations."""
    clean = {}
    errors = ValidationErrorList()
    if "name" in data or not partial:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
            errors.add(["body", "name"], f"Name must be a string of 1 to {MAX_NAME_LENGTH} characters", "string_type")
        else:
            clean["name"] = name
    for field, validator in (("filter", validate_filter), ("aggregation", validate_aggregation)):
        if field in data or not partial:
            if data.get(field) is None:
                errors.add(["body", field], "Field required", "missing")
                continue
            try:
                clean[field] = validator(data[field], ["body", field])
            except FilterError as exc:
                errors.add(exc.loc, exc.msg, exc.type)
    if data.get("metadata") is not None:
        check_metadata(data["metadata"], ["body", "metadata"], errors, allow_structured=False)
        clean["metadata"] = data["metadata"]
    if data.get("unit") is not None:
        if data["unit"] not in Meter.Unit.values:
            errors.add(["body", "unit"], "Input should be 'scalar', 'token' or 'custom'", "enum")
        else:
            clean["unit"] = data["unit"]
    if "custom_label" in data:
        label = data["custom_label"]
        if label is not None and (not isinstance(label, str) or len(label) > MAX_CUSTOM_LABEL_LENGTH):
            errors.add(["body", "custom_label"], f"At most {MAX_CUSTOM_LABEL_LENGTH} characters", "string_too_long")
        else:
            clean["custom_label"] = label
    if "custom_multiplier" in data:
        multiplier = data["custom_multiplier"]
        if multiplier is not None and (type(multiplier) is not int or not 0 < multiplier < 2**31):
            errors.add(["body", "custom_multiplier"], "Input should be a positive integer", "int_type")
        else:
            clean["custom_multiplier"] = multiplier
    if "organization_id" in data and data["organization_id"] is not None and not partial:
        clean["organization_id"] = data["organization_id"]
    if partial and "is_archived" in data and data["is_archived"] is not None:
        if not isinstance(data["is_archived"], bool):
            errors.add(["body", "is_archived"], "Input should be a valid boolean", "bool_type")
        else:
            clean["is_archived"] = data["is_archived"]
    if errors:
        raise PolarRequestValidationError(errors.items)
    return clean


@transaction.atomic
def meter_create(*, organization, data: dict) -> Meter:
    """Create a meter from Polar's ``MeterCreate`` body. No lock needed (a new row); no webhook in Polar."""
    clean = _validated(data, partial=False)
    organization_id = clean.pop("organization_id", None)
    if organization_id is not None and str(organization_id) != str(organization.id):
        raise PolarRequestValidationError.single(
            ["body", "organization_id"], "organization_id must be the organization of the access token"
        )
    return Meter.objects.create(organization=organization, metadata=clean.pop("metadata", {}), **clean)


@transaction.atomic
def meter_update(*, meter: Meter, data: dict) -> Meter:
    """Apply Polar's ``MeterUpdate`` (any subset of fields; ``is_archived`` archives or restores).

    Locks the meter row. Changing the filter or aggregation changes every past quantity too: events are
    kept raw and aggregated on read, which is Polar's behaviour.
    """
    clean = _validated(data, partial=True)
    meter = Meter.objects.select_for_update().get(pk=meter.pk)
    now = clock.now()
    is_archived = clean.pop("is_archived", None)
    if is_archived is True and meter.archived_at is None:
        meter.archived_at = now
    elif is_archived is False:
        meter.archived_at = None
    for field, value in clean.items():
        setattr(meter, field, value)
    meter.modified_at = now
    meter.save()
    return meter
