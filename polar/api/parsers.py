"""The strict JSON parser every API view reads its body with (``DEFAULT_PARSER_CLASSES``).

JSON that Python can parse is not always JSON the rest of the system can hold. Before a serializer sees
the body, this parser refuses, with Polar's 422 shape and the ``loc`` of the offending value:

- NUL characters and lone surrogates in any string or key (PostgreSQL text and jsonb cannot store them,
  UTF-8 cannot encode a lone surrogate);
- ``NaN``, ``Infinity``, ``-Infinity`` and floats that overflow to infinity (``1e999``): not JSON, and
  not storable in jsonb;
- integers beyond the signed 64-bit range (nothing stores them; columns narrower than that are
  bounded again by :mod:`polar.api.fields`);
- nesting deeper than ``API_MAX_JSON_DEPTH``;
- bodies larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413, ``PayloadTooLarge``).

The limits are documented in ``docs/input-limits.md``.
"""

from __future__ import annotations

import codecs
import json
import math
import re

from django.conf import settings
from rest_framework.parsers import BaseParser

from polar.errors import PolarError, PolarRequestValidationError

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
DEFAULT_MAX_JSON_DEPTH = 32

# NUL and the UTF-16 surrogate range: what a JSON string may spell (\u0000, \ud800) but no column holds.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class PayloadTooLarge(PolarError):
    status_code = 413
    error = "PayloadTooLarge"


def max_body_size() -> int:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440


def max_json_depth() -> int:
    return getattr(settings, "API_MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH)


def payload_too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is too large: at most {max_body_size():,} bytes are accepted.")


def unstorable_string_error(value: str) -> tuple[str, str] | None:
    """``(msg, type)`` when ``value`` holds a character no column can store, else None."""
    match = _UNSTORABLE.search(value)
    if match is None:
        return None
    if match.group() == "\x00":
        return "Input should not contain NUL characters (\\u0000)", "string_pattern_mismatch"
    return "Input should not contain unpaired surrogate characters", "string_unicode"


def check_json_value(value, loc_prefix=("body",), max_depth: int | None = None, *, check_strings: bool = True) -> None:
    """Raise ``PolarRequestValidationError`` (422, located) if ``value`` holds anything listed above.

    ``check_strings=False`` leaves NUL and surrogates to a caller that reports every one of them itself
    (events ingestion validates each event and answers all errors at once). Iterative, so that a hostile
    document cannot exhaust the interpreter's stack here either."""
    max_depth = max_json_depth() if max_depth is None else max_depth
    stack = [(value, 0, list(loc_prefix))]
    while stack:
        node, depth, loc = stack.pop()
        if isinstance(node, str):
            problem = unstorable_string_error(node) if check_strings else None
            if problem:
                raise PolarRequestValidationError.single(loc, *problem)
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if not INT64_MIN <= node <= INT64_MAX:
                raise PolarRequestValidationError.single(
                    loc, f"Input should be less than or equal to {INT64_MAX} in absolute value", "less_than_equal"
                )
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise PolarRequestValidationError.single(loc, "Input should be a finite number", "finite_number")
        elif isinstance(node, (dict, list)):
            if depth >= max_depth:
                raise PolarRequestValidationError.single(
                    loc, f"Input should be nested at most {max_depth} levels deep", "too_deeply_nested"
                )
            if isinstance(node, dict):
                for key, item in node.items():
                    problem = unstorable_string_error(key) if check_strings and isinstance(key, str) else None
                    if problem:
                        raise PolarRequestValidationError.single([*loc, key.replace("\x00", "\\u0000")], *problem)
                    stack.append((item, depth + 1, [*loc, key]))
            else:
                for index, item in enumerate(node):
                    stack.append((item, depth + 1, [*loc, index]))


def _keep_constant(name: str) -> float:
    # NaN / Infinity / -Infinity: kept as floats so check_json_value can name where they were.
    return float(name.replace("Infinity", "inf"))


def loads_strict(text: str | bytes, loc_prefix=("body",)):
    """Parse JSON text and apply :func:`check_json_value`; malformed JSON is a 422 ``json_invalid``."""
    try:
        data = json.loads(text, parse_constant=_keep_constant)
    except RecursionError:
        raise PolarRequestValidationError.single(
            list(loc_prefix), f"Input should be nested at most {max_json_depth()} levels deep", "too_deeply_nested"
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise PolarRequestValidationError.single(list(loc_prefix), f"JSON decode error: {exc}", "json_invalid")
    check_json_value(data, loc_prefix)
    return data


class StrictJSONParser(BaseParser):
    """DRF's JSON parser, made strict as the module docstring says."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        limit = max_body_size()
        if stream is None:
            return {}
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise payload_too_large()
        try:
            text = codecs.decode(raw, encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise PolarRequestValidationError.single(["body"], f"JSON decode error: {exc}", "json_invalid")
        return loads_strict(text)
