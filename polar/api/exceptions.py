"""Every error leaves the API in Polar's shape.

- domain and HTTP errors: ``{"error": "ResourceNotFound", "detail": "..."}`` with their status;
- invalid input (body, query, path, malformed JSON): 422 ``{"detail": [{"loc", "msg", "type"}]}``;
- the database unreachable or restarting: 503 ``ServiceUnavailable`` with ``Retry-After`` (nothing was
  written: the request's transaction, if any, is gone with the connection; a client retries with the same
  Idempotency-Key);
- anything unexpected: logged with its traceback, answered 500 in the same shape (never an HTML page).
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from polar.errors import PolarError, PolarRequestValidationError

from .parsers import payload_too_large

logger = logging.getLogger("polar.api")

# Seconds a client is told to wait when the database cannot be reached (a restart takes a few).
DATABASE_UNAVAILABLE_RETRY_AFTER = 2

# DRF's error codes, named as Polar (pydantic) names them where there is an equivalent.
_TYPE_NAMES = {
    "required": "missing",
    "null": "missing",
    "invalid": "value_error",
    "blank": "string_too_short",
    "max_length": "string_too_long",
    "min_length": "string_too_short",
    "max_value": "less_than_equal",
    "min_value": "greater_than_equal",
    "invalid_choice": "enum",
    "does_not_exist": "value_error",
    "unique": "value_error",
    "not_a_list": "list_type",
    "not_a_dict": "dict_type",
    "parse_error": "json_invalid",
    "max_string_length": "string_too_long",
    "null_characters_not_allowed": "string_pattern_mismatch",
    "surrogate_characters_not_allowed": "string_unicode",
    "max_digits": "decimal_max_digits",
    "max_decimal_places": "decimal_max_places",
    "max_whole_digits": "decimal_whole_digits",
    "datetime_too_late": "less_than_equal",
    "datetime_too_old": "greater_than_equal",
}


def flatten_validation_errors(detail, loc_prefix=("body",)) -> list[dict]:
    """Turn DRF's nested error structure into Polar's flat list of ``{loc, msg, type}``."""
    errors: list[dict] = []

    def walk(node, loc):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("non_field_errors", "__all__"):
                    walk(value, loc)
                else:
                    walk(value, [*loc, int(key) if isinstance(key, int) else str(key)])
        elif isinstance(node, list):
            if node and all(isinstance(item, (dict, list)) for item in node):
                for index, item in enumerate(node):
                    if item:
                        walk(item, [*loc, index])
            else:
                for item in node:
                    walk(item, loc)
        else:
            code = getattr(node, "code", "value_error") or "value_error"
            errors.append({"loc": list(loc), "msg": str(node), "type": _TYPE_NAMES.get(code, code)})

    walk(detail, list(loc_prefix))
    return errors or [{"loc": list(loc_prefix), "msg": "Invalid input", "type": "value_error"}]


def error_payload(error: str, detail: str) -> dict:
    return {"error": error, "detail": detail}


def polar_exception_handler(exc, context):
    if isinstance(exc, PolarError):
        return Response(exc.as_payload(), status=exc.status_code)
    if isinstance(exc, (RequestDataTooBig, TooManyFieldsSent)):
        # Normally refused earlier by polar.api.middleware (Content-Length); this covers bodies without one.
        error = payload_too_large()
        return Response(error.as_payload(), status=error.status_code)
    if isinstance(exc, drf_exceptions.ValidationError):
        prefix = getattr(exc, "loc_prefix", ("body",))
        return Response({"detail": flatten_validation_errors(exc.detail, prefix)}, status=422)
    if isinstance(exc, drf_exceptions.ParseError):
        return Response(
            {"detail": [{"loc": ["body"], "msg": f"JSON decode error: {exc.detail}", "type": "json_invalid"}]},
            status=422,
        )
    if isinstance(exc, (drf_exceptions.NotAuthenticated, drf_exceptions.AuthenticationFailed)):
        response = Response(error_payload("Unauthorized", str(exc.detail)), status=401)
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    if isinstance(exc, (drf_exceptions.PermissionDenied, DjangoPermissionDenied)):
        detail = getattr(exc, "detail", "You do not have permission to perform this action.")
        return Response(error_payload("NotPermitted", str(detail)), status=403)
    if isinstance(exc, (drf_exceptions.NotFound, Http404)):
        return Response(error_payload("ResourceNotFound", "Not found"), status=404)
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return Response(error_payload("MethodNotAllowed", str(exc.detail)), status=405)
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return Response(error_payload("UnsupportedMediaType", str(exc.detail)), status=415)
    if isinstance(exc, drf_exceptions.NotAcceptable):
        return Response(error_payload("NotAcceptable", str(exc.detail)), status=406)
    if isinstance(exc, drf_exceptions.Throttled):
        response = Response(error_payload("TooManyRequests", str(exc.detail)), status=429)
        if exc.wait:
            response["Retry-After"] = str(int(exc.wait))
        return response
    if isinstance(exc, drf_exceptions.APIException):
        return Response(error_payload(type(exc).__name__, str(exc.detail)), status=exc.status_code)
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The chaos run (bench/chaos.py) restarts PostgreSQL under ingestion: clients got 500s, which say "a bug,
        # do not retry". A connection refused or cut, or a server starting up, is transient: say so.
        logger.warning("database unavailable in API view", exc_info=exc)
        response = Response(error_payload("ServiceUnavailable", "The service is briefly unavailable; retry shortly."), status=503)
        response["Retry-After"] = str(DATABASE_UNAVAILABLE_RETRY_AFTER)
        return response
    logger.exception("unhandled error in API view", exc_info=exc)
    return Response(error_payload("InternalServerError", "An unexpected error occurred."), status=500)


# Django-level handlers, for paths that never reach a DRF view (unknown URLs, CSRF failures...).
def json_not_found(request, exception=None):
    return JsonResponse(error_payload("ResourceNotFound", "Not found"), status=404)


def json_server_error(request):
    return JsonResponse(error_payload("InternalServerError", "An unexpected error occurred."), status=500)


def json_bad_request(request, exception=None):
    return JsonResponse(error_payload("BadRequest", "Bad request"), status=400)


def json_permission_denied(request, exception=None):
    return JsonResponse(error_payload("NotPermitted", "Forbidden"), status=403)


__all__ = ["PolarRequestValidationError", "flatten_validation_errors", "polar_exception_handler"]
