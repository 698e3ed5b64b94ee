"""Polar's pagination: ``page`` (from 1) and ``limit`` (default 10, at most 100) in the query,
``{"items": [...], "pagination": {"total_count": N, "max_page": M}}`` in the answer."""

import math

from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from polar.errors import PolarRequestValidationError

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
# No table is paged this far: bounding ``page`` keeps OFFSET within bigint (page=10**20 would overflow it).
MAX_PAGE = 1_000_000


def _positive_int(request, name, default, maximum=None):
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        # Also what int() raises for over 4,300 digits.
        raise PolarRequestValidationError.single(["query", name], "Input should be a valid integer", "int_parsing")
    if value < 1:
        raise PolarRequestValidationError.single(["query", name], "Input should be greater than 0", "greater_than")
    if maximum is not None and value > maximum:
        raise PolarRequestValidationError.single(
            ["query", name], f"Input should be less than or equal to {maximum}", "less_than_equal"
        )
    return value


class PolarPagination(BasePagination):
    def paginate_queryset(self, queryset, request, view=None):
        self.page = _positive_int(request, "page", 1, MAX_PAGE)
        self.limit = _positive_int(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
        # A QuerySet counts in SQL; a plain list (already computed rows) by its length.
        self.total_count = len(queryset) if isinstance(queryset, (list, tuple)) else queryset.count()
        offset = (self.page - 1) * self.limit
        return list(queryset[offset : offset + self.limit])

    def get_paginated_response(self, data):
        return Response(
            {
                "items": data,
                "pagination": {"total_count": self.total_count, "max_page": math.ceil(self.total_count / self.limit)},
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["items", "pagination"],
            "properties": {
                "items": schema,
                "pagination": {
                    "type": "object",
                    "required": ["total_count", "max_page"],
                    "properties": {"total_count": {"type": "integer"}, "max_page": {"type": "integer"}},
                },
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            },
        ]
