"""Input checks that must happen before any view runs, for what no serializer sees: the path, the query
string, the headers and the size of the body.

A NUL character in a path segment (``/v1/customers/external/a%00b``) or a query parameter
(``?metadata[k]=a%00``) would otherwise reach PostgreSQL, which refuses it with an error the view never
expected (a 500); percent-encoded bytes that are not UTF-8 would be silently replaced. Both are answered
here with Polar's 422 shape. A body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is answered 413 before
anything reads it (Django would raise ``RequestDataTooBig`` from whichever code touched ``request.body``
first).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from django.core.handlers.wsgi import get_bytes_from_wsgi
from django.http import JsonResponse

from .parsers import max_body_size, payload_too_large

_NUL = "\x00"


def _invalid(loc: list, msg: str, type_: str) -> JsonResponse:
    return JsonResponse({"detail": [{"loc": loc, "msg": msg, "type": type_}]}, status=422)


def _nul_error(loc: list) -> JsonResponse:
    return _invalid(loc, "Input should not contain NUL characters (\\u0000)", "string_pattern_mismatch")


def _decodes_as_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def request_input_error(request) -> JsonResponse | None:
    """The response refusing this request's path, query string, headers or body size, or None."""
    # Django has already replaced PATH_INFO with the decoded path (non-UTF-8 bytes percent-encoded again), so
    # it is no longer latin-1 text: encoding it back to latin-1 (get_bytes_from_wsgi) raised on any character
    # beyond U+00FF (a 500 for /v1/customers/external/顧客) and misread "é" as a broken byte. Unquoting the
    # decoded path gives back the bytes the client sent; a literal "%E9" sent as "%25E9" reads as broken too.
    raw_path = unquote_to_bytes(request.path_info)
    if b"\x00" in raw_path or _NUL in request.path_info:
        return _nul_error(["path"])
    if not _decodes_as_utf8(raw_path):
        return _invalid(["path"], "Input should be valid UTF-8 once percent-decoded", "string_unicode")

    raw_query = get_bytes_from_wsgi(request.META, "QUERY_STRING", "")
    if raw_query:
        decoded = unquote_to_bytes(raw_query.replace(b"+", b" "))
        if not _decodes_as_utf8(decoded):
            return _invalid(["query"], "Input should be valid UTF-8 once percent-decoded", "string_unicode")
        for key, values in request.GET.lists():
            if _NUL in key:
                return _nul_error(["query", key.replace(_NUL, "\\u0000")])
            if any(_NUL in value for value in values):
                return _nul_error(["query", key])

    for name, value in request.META.items():
        if name.startswith("HTTP_") and isinstance(value, str) and _NUL in value:
            return _nul_error(["header", name[5:].replace("_", "-").lower()])

    try:
        content_length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _invalid(["header", "content-length"], "Input should be a valid integer", "int_parsing")
    # Multipart bodies carry files, which Django streams to disk; only the other bodies are held in memory.
    is_multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/")
    if content_length > max_body_size() and not is_multipart:
        error = payload_too_large()
        return JsonResponse(error.as_payload(), status=error.status_code)
    return None


class InputLimitsMiddleware:
    """Applies :func:`request_input_error` to every request (the API, the hosted checkout, the admin)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = request_input_error(request)
        if response is not None:
            return response
        return self.get_response(request)
