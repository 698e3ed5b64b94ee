"""The base of every public API view: Polar's wire conventions in one place.

A view subclasses ``PolarAPIView``, names its ``scope``, parses input with ``parse_body`` /
``parse_query``, calls one service or selector, and renders with an output serializer.
"""

import uuid

from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from polar.audit import api_actor
from polar.errors import PolarRequestValidationError

from . import idempotency, versions
from .exceptions import flatten_validation_errors
from .models import IdempotencyKey
from .pagination import PolarPagination

UnsupportedAPIVersion = versions.UnsupportedAPIVersion


class _Replay(Exception):
    """Raised from initial() to answer a retried Idempotency-Key with the stored response."""

    def __init__(self, response):
        self.response = response


class PolarAPIView(APIView):
    scope: str | None = None
    # Read by the OpenAPI schema only: a response declared ``many=True`` is documented as Polar's page
    # (``{"items", "pagination"}``, with ``page`` and ``limit``), which is what ``paginated`` answers.
    pagination_class = PolarPagination
    # Public name -> ORM field; the first entry of default_sorting applies when none is asked.
    sorting_fields: dict[str, str] = {"created_at": "created_at"}
    default_sorting: tuple[str, ...] = ("-created_at",)

    @property
    def organization(self):
        return self.request.user.organization

    def idempotency_organization(self):
        """Whose namespace Idempotency-Keys of this request live in: the caller's organization.

        Public views (no token, e.g. a checkout confirmed with its client secret) override this to
        name the organization of the resource they act on, or return None to opt out."""
        return self.organization

    def idempotency_namespace(self) -> str:
        """Which namespace of that organization the keys live in: ``api`` for token callers. A public
        view names its own (derived from the credential it accepts) so that an anonymous caller can
        never use up, or read the stored answer of, a key of the merchant's or of another caller's."""
        return IdempotencyKey.API_NAMESPACE

    def audit_actor(self, request):
        """The audit context of an authenticated call: the organization token. Views with another
        credential (customer sessions) name their own actor."""
        return api_actor(token=request.auth, remote_addr=request.META.get("REMOTE_ADDR"))

    # --- lifecycle ---------------------------------------------------------
    def initial(self, request, *args, **kwargs):
        # Before anything else (authentication, the idempotency claim): an unknown version has no effect.
        request.polar_version = request._request.polar_version = versions.resolve(request.META.get("HTTP_POLAR_VERSION"))
        super().initial(request, *args, **kwargs)
        if request.auth is not None:
            self._audit_context = self.audit_actor(request)
            self._audit_context.__enter__()
        organization = self.idempotency_organization()
        if organization is None:
            return
        row, replay = idempotency.claim(request, organization, self.idempotency_namespace())
        if replay is not None:
            raise _Replay(replay)
        self._idempotency_row = row

    def dispatch(self, request, *args, **kwargs):
        self._idempotency_row = None
        self._audit_context = None
        money_token = idempotency.request_started()
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            idempotency.request_finished(money_token)
            if self._audit_context is not None:
                self._audit_context.__exit__(None, None, None)
                self._audit_context = None

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        if self._idempotency_row is not None:
            idempotency.complete(self._idempotency_row, response)  # stored in the internal shape
            self._idempotency_row = None
        if getattr(response, "data", None) is not None:
            response.data = versions.render(response.data, versions.request_version(request))
        return super().finalize_response(request, response, *args, **kwargs)

    # --- input -------------------------------------------------------------
    def parse_body(self, serializer_class, *, instance=None, partial=False, context=None):
        data = self.request.data
        if not isinstance(data, dict):
            raise PolarRequestValidationError.single(["body"], "Input should be a valid dictionary or object", "model_type")
        data = versions.upgrade_request(data, versions.request_version(self.request))
        serializer = serializer_class(
            instance=instance, data=data, partial=partial, context={"request": self.request, "view": self, **(context or {})}
        )
        if not serializer.is_valid():
            raise PolarRequestValidationError(flatten_validation_errors(serializer.errors, ("body",)))
        return serializer.validated_data

    def parse_query(self, serializer_class):
        params = self.request.query_params
        data = {}
        for name, field in serializer_class().fields.items():
            if isinstance(field, serializers.ListField):
                values = params.getlist(name)
                if values:
                    data[name] = values
            elif isinstance(field, serializers.DictField):
                prefix = f"{name}["
                values = {k[len(prefix) : -1]: v for k, v in params.items() if k.startswith(prefix) and k.endswith("]")}
                if values:
                    data[name] = values
            elif name in params:
                data[name] = params.get(name)
        serializer = serializer_class(data=data, context={"request": self.request, "view": self})
        if not serializer.is_valid():
            raise PolarRequestValidationError(flatten_validation_errors(serializer.errors, ("query",)))
        return serializer.validated_data

    def parse_id(self, value, name="id") -> uuid.UUID:
        try:
            return uuid.UUID(str(value))
        except ValueError:
            raise PolarRequestValidationError.single(["path", name], "Input should be a valid UUID", "uuid_parsing")

    # --- output ------------------------------------------------------------
    def sorting(self) -> list[str]:
        requested = self.request.query_params.getlist("sorting") or list(self.default_sorting)
        order_by = []
        for item in requested:
            descending = item.startswith("-")
            name = item[1:] if descending else item
            if name not in self.sorting_fields:
                raise PolarRequestValidationError.single(
                    ["query", "sorting"],
                    f"Input should be one of {', '.join(sorted(self.sorting_fields))}, optionally prefixed with '-'",
                    "enum",
                )
            order_by.append(("-" if descending else "") + self.sorting_fields[name])
        order_by.append("-id" if order_by and order_by[-1].startswith("-") else "id")
        return order_by

    def respond(self, data, status=200):
        return Response(data, status=status)

    def paginated(self, queryset, serializer_class, *, context=None):
        paginator = PolarPagination()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        data = serializer_class(page, many=True, context={"request": self.request, **(context or {})}).data
        return paginator.get_paginated_response(data)


def check_organization_id(view, data):
    """An organization token acts for its organization only; naming another one is invalid input."""
    organization_id = data.pop("organization_id", None)
    if organization_id is not None and organization_id != view.organization.pk:
        raise PolarRequestValidationError.single(
            ["body", "organization_id"], "organization_id must be the organization of the access token."
        )
