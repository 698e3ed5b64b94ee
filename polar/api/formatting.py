"""How the API writes values on the wire (datetimes, optional ids), shared by every payload."""

import datetime

from rest_framework import serializers

_datetime_field = serializers.DateTimeField()
_UTC = datetime.UTC


def dt(value):
    """A datetime as the API writes it: what DRF's ``DateTimeField`` renders with ``TIME_ZONE = "UTC"``
    (ISO 8601, UTC, ``Z``), computed directly: every resource and webhook payload renders many."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        text = value.astimezone(_UTC).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return _datetime_field.to_representation(value)


def sid(value):
    return None if value is None else str(value)
