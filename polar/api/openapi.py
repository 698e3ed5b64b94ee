"""The OpenAPI schema of an operation (DRF's DEFAULT_SCHEMA_CLASS) and of an API version (a drf-spectacular
post-processing hook). Kept apart from polar.api.schema, whose views drf-spectacular builds at import time
with DEFAULT_SCHEMA_CLASS: a class defined there could not be imported by that setting.

The schema is what schema fuzzing checks the server against (tests/security, docs/security.md): an
operation documents every status it can answer, with Polar's error shapes, so a client generated from it
knows them and an undocumented status is a finding.
"""

import re

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse

from . import versions

# Polar's two error shapes (polar.api.exceptions): a named error, and invalid input.
ERROR_SCHEMA = {
    "type": "object",
    "description": "An error: its name (ResourceNotFound, NotPermitted, Unauthorized, ...) and a message.",
    "required": ["error", "detail"],
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Invalid input: where (body, query, path, header) and why.",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        }
    },
}
_COMPONENTS = {"PolarError": ERROR_SCHEMA, "HTTPValidationError": VALIDATION_ERROR_SCHEMA}

_DESCRIPTIONS = {
    400: "Refused: an unsupported Polar-Version, or a request the resource's state refuses.",
    401: "Missing, unknown, expired or revoked credentials.",
    402: "The payment method was declined.",
    403: "The credentials lack the scope or the permission.",
    404: "Not found, or not the caller's.",
    409: "Conflicts with the resource's state, or an Idempotency-Key in use.",
    413: "The body is too large.",
    422: "Invalid input.",
    429: "Too many requests; Retry-After says when to try again.",
}


class PolarAutoSchema(AutoSchema):
    """drf-spectacular's schema of an operation plus the errors the API's conventions answer everywhere:
    400 (Polar-Version), 422 (input), 429 (rate limits) for every operation; 401 and 403 where credentials
    are required; 404 where the path names a resource; 413 where there is a body. A view documents its own
    other errors in ``extend_schema(responses=...)`` with ``error_response(...)``; what it declares wins."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if not self.path.startswith("/v1/"):
            return responses
        codes = [400, 422, 429]
        if self._requires_credentials():
            codes += [401, 403]
        if re.search(r"{\w+}", self.path):
            codes.append(404)
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append(413)
        if self.method != "GET" and re.search(r"{\w+}", self.path):
            codes.append(409)  # a change the resource's current state refuses (ConflictError and its kin)
        for code in sorted(codes):
            responses.setdefault(str(code), self._error_response(code, _DESCRIPTIONS[code]))
        for code, response in responses.items():
            if int(code) >= 400 and not response.get("content"):
                responses[code] = self._error_response(int(code), response.get("description") or "")
        return responses

    def _requires_credentials(self) -> bool:
        auth = self.get_auth()
        return bool(auth) and {} not in auth

    def _error_response(self, code: int, description: str) -> dict:
        # A 422 is invalid input, or a domain error of that status (``OrderNotEligibleForRetry``), as Polar's.
        names = ["HTTPValidationError", "PolarError"] if code == 422 else ["PolarError"]
        refs = []
        for name in names:
            component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=_COMPONENTS[name])
            self.registry.register_on_missing(component)
            refs.append(component.ref)
        schema = refs[0] if len(refs) == 1 else {"oneOf": refs}
        return {"description": description, "content": {"application/json": {"schema": schema}}}


def error_response(description: str):
    """An error answer for ``extend_schema(responses={402: error_response("...")})``: Polar's error shape
    (``PolarAutoSchema`` gives it its schema)."""
    return OpenApiResponse(description=description)


def schema_for_version(result, generator, request, public):
    """drf-spectacular post-processing hook: the schema in the requested API version's shapes
    (``versions.render_schema``), and that version as ``info.version``."""
    version = generator.api_version or versions.CURRENT
    result["info"]["version"] = version
    return versions.render_schema(result, version)
