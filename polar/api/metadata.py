"""Polar's ``metadata``: a small key-value object merchants attach to resources.

Limits (Polar's, so that a payload accepted here is accepted there): at most 50 keys, keys of
1 to 40 characters, values a string of at most 500 characters, an integer, a float or a boolean.
And what jsonb and the SDKs can hold: no NUL (or unpaired surrogate) in keys and strings, finite
floats, integers within the signed 64-bit range.
"""

import math
import re

from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MAX_KEYS = 50
MAX_KEY_LENGTH = 40
MAX_STRING_VALUE_LENGTH = 500
INT64_MAX = 2**63 - 1
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def validate_metadata(value) -> dict:
    """Return ``value`` as a dict if it respects Polar's limits, else raise ``serializers.ValidationError``.

    ``None`` means "no metadata" and becomes ``{}``. Errors are keyed by the offending metadata key
    so that the 422 ``loc`` names it (``["body", "metadata", "<key>"]``).
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise serializers.ValidationError("Input should be a valid dictionary", code="dict_type")
    if len(value) > MAX_KEYS:
        raise serializers.ValidationError(
            f"Dictionary should have at most {MAX_KEYS} items after validation, not {len(value)}", code="too_long"
        )
    errors = {}
    for key, item in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH:
            errors[str(key)] = serializers.ErrorDetail(
                f"Metadata keys should have between 1 and {MAX_KEY_LENGTH} characters", code="string_too_long"
            )
        elif _UNSTORABLE.search(key):
            errors[key.replace("\x00", "\\u0000")] = serializers.ErrorDetail(
                "Metadata keys should not contain NUL or unpaired surrogate characters", code="string_pattern_mismatch"
            )
        # bool is a subclass of int: both are allowed, so no special case is needed for it.
        elif isinstance(item, str):
            if len(item) > MAX_STRING_VALUE_LENGTH:
                errors[key] = serializers.ErrorDetail(
                    f"String should have at most {MAX_STRING_VALUE_LENGTH} characters", code="string_too_long"
                )
            elif _UNSTORABLE.search(item):
                errors[key] = serializers.ErrorDetail(
                    "String should not contain NUL or unpaired surrogate characters", code="string_pattern_mismatch"
                )
        elif isinstance(item, float) and not math.isfinite(item):
            errors[key] = serializers.ErrorDetail("Input should be a finite number", code="finite_number")
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > INT64_MAX:
            errors[key] = serializers.ErrorDetail(
                f"Input should be less than or equal to {INT64_MAX} in absolute value", code="less_than_equal"
            )
        elif not isinstance(item, (int, float)):
            errors[key] = serializers.ErrorDetail(
                "Input should be a valid string, integer, number or boolean", code="value_error"
            )
    if errors:
        raise serializers.ValidationError(errors)
    return dict(value)


METADATA_SCHEMA = {
    "type": "object",
    "maxProperties": MAX_KEYS,
    "propertyNames": {"minLength": 1, "maxLength": MAX_KEY_LENGTH},
    "additionalProperties": {
        "oneOf": [
            {"type": "string", "maxLength": MAX_STRING_VALUE_LENGTH},
            {"type": "integer"},
            {"type": "number"},
            {"type": "boolean"},
        ]
    },
}


@extend_schema_field(METADATA_SCHEMA)
class MetadataField(serializers.Field):
    """A serializer field applying :func:`validate_metadata` (input) and rendering the dict as is."""

    default_error_messages = {}

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return validate_metadata(data)

    def to_representation(self, value):
        return dict(value or {})


def parse_metadata_query(query_params: QueryDict, name: str = "metadata") -> dict[str, list[str]]:
    """``?metadata[plan]=pro&metadata[plan]=team&metadata[seats]=3`` -> ``{"plan": ["pro", "team"], "seats": ["3"]}``.

    Polar's deepObject filter: values of one key are alternatives (OR), keys must all match (AND).
    """
    prefix = f"{name}["
    result: dict[str, list[str]] = {}
    for key, values in query_params.lists():
        if key.startswith(prefix) and key.endswith("]") and len(key) > len(prefix) + 1:
            result.setdefault(key[len(prefix) : -1], []).extend(values)
    return result
