"""Polar's metadata rules, shared by every resource that carries ``metadata``."""
from rest_framework.exceptions import ValidationError

MAX_KEYS = 50
MAX_KEY_LENGTH = 40
MAX_STRING_VALUE_LENGTH = 500


def validate_metadata(value) -> dict:
    """Return ``value`` if it is valid metadata, else raise ``ValidationError``.

    At most 50 keys; keys are non-empty strings of at most 40 characters; values are strings of at
    most 500 characters, integers, floats or booleans (no nested objects, lists or nulls).
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError("Metadata must be an object.", code="dict_type")
    if len(value) > MAX_KEYS:
        raise ValidationError(f"Metadata can have at most {MAX_KEYS} keys.", code="too_long")
    for key, item in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise ValidationError(
                f"Metadata keys must be strings of 1 to {MAX_KEY_LENGTH} characters: {str(key)[:60]!r}.",
                code="string_too_long",
            )
        if isinstance(item, str):
            if len(item) > MAX_STRING_VALUE_LENGTH:
                raise ValidationError(
                    f"Metadata value of {key!r} is longer than {MAX_STRING_VALUE_LENGTH} characters.",
                    code="string_too_long",
                )
        elif not isinstance(item, (bool, int, float)):
            raise ValidationError(f"Metadata value of {key!r} must be a string, integer, float or boolean.", code="value_error")
    return value
