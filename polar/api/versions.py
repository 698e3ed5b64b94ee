"""Polar API versions, in one place: which ones are served, how a request picks one, and the version
changes that translate between them (docs/api-versions.md).

The code emits one internal shape, the newest version's (``LATEST``). Each ``VersionChange`` below
describes what one version changed compared to the one before it, both ways:

- ``downgrade``: an object of the newer shape, rewritten in place to the older one (responses and
  webhook payloads, applied newest -> oldest until the requested version is reached);
- ``upgrade``: a request body object of the older shape, rewritten to the newer one (applied oldest
  -> newest before validation).

A change recognises the objects it concerns by their shape (a seat-based price is the dict with
``amount_type == "seat_based"``; a license key the dict with ``display_key``), wherever they are nested,
so a new endpoint that embeds a price or a key is translated without registering anything.
"""

from __future__ import annotations

from rest_framework import serializers

from polar.errors import PolarError, PolarRequestValidationError

from .exceptions import flatten_validation_errors
from .fields import AmountField, SeatsField

# Oldest first. polar-sdk 1.0.2 ships one client per version; 0.32 sends no header (2026-04 shapes).
VERSIONS: tuple[str, ...] = ("2026-04", "2026-10", "2027-01")
CURRENT = "2026-10"  # a request without Polar-Version is served in this one (Polar's "current")
LATEST = VERSIONS[-1]  # the internal shape
HEADER = "Polar-Version"


class UnsupportedAPIVersion(PolarError):
    status_code = 400
    error = "UnsupportedAPIVersion"


def resolve(value: str | None) -> str:
    """The version a request is served in: its ``Polar-Version`` header, ``CURRENT`` when absent.
    Raises ``UnsupportedAPIVersion`` (400, Polar's error shape) for any other value."""
    if value is None or value == "":
        return CURRENT
    if value not in VERSIONS:
        raise UnsupportedAPIVersion(f"Polar-Version {value!r} is not supported; use one of {', '.join(VERSIONS)}.")
    return value


def request_version(request) -> str:
    """The resolved version of a (Django or DRF) request; ``CURRENT`` if it was never resolved."""
    return getattr(request, "polar_version", None) or CURRENT


def versions_up_to(version: str) -> list[str]:
    """The versions a client of ``version`` may name (e.g. a webhook endpoint's ``api_version``)."""
    return list(VERSIONS[: VERSIONS.index(version) + 1])


def _walk(data, visit, path=()):
    """Call ``visit(obj, path)`` on every dict in ``data``, children first (a visit may rewrite the
    object's own keys but sees already-translated children)."""
    if isinstance(data, dict):
        for key, value in list(data.items()):
            if isinstance(value, (dict, list)):
                _walk(value, visit, (*path, key))
        visit(data, path)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            if isinstance(item, (dict, list)):
                _walk(item, visit, (*path, index))


def _walk_down(data, downgrade):
    """``_walk`` for responses, where no path is needed: every response and webhook payload goes through it,
    so it builds no path tuples and calls ``downgrade`` directly (a third of the cost of ``_walk``)."""
    if isinstance(data, dict):
        for value in data.values():  # a child's downgrade rewrites the child, never this dict
            if isinstance(value, (dict, list)):
                _walk_down(value, downgrade)
        downgrade(data)
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, (dict, list)):
                _walk_down(item, downgrade)


class VersionChange:
    version: str  # the version that introduced the change

    def downgrade(self, obj: dict) -> None:
        """Rewrite ``obj`` (a response object of ``version``'s shape) to the previous version's."""

    def upgrade(self, obj: dict, path: tuple) -> None:
        """Rewrite ``obj`` (a request object of the previous version's shape) to ``version``'s.
        ``path`` is its location in the body, for validation errors."""

    def downgrade_schema(self, schemas: dict) -> None:
        """Rewrite the OpenAPI component ``schemas`` (``version``'s shapes) to the previous version's, so that
        each version's /openapi.json documents what that version sends and accepts."""


class _SeatTierInput(serializers.Serializer):
    min_seats = SeatsField()
    max_seats = SeatsField(required=False, allow_null=True)
    price_per_seat = AmountField()


class _SeatTiersInput(serializers.Serializer):
    """2026-04/2026-10 ``ProductPriceSeatTiersInput``: validated here so that errors name the client's keys."""

    tiers = _SeatTierInput(many=True, allow_empty=False)
    seat_tier_type = serializers.ChoiceField(choices=["volume", "graduated"], required=False, allow_null=True)


def _is_seat_price(obj: dict) -> bool:
    return obj.get("amount_type") == "seat_based"


class SeatTiersBecomeTiers(VersionChange):
    """2027-01: seat-based prices carry ``tiers`` (``{type, tiers: [{bound, unit_amount}]}``),
    ``minimum_units`` and ``maximum_units`` instead of ``seat_tiers``."""

    version = "2027-01"

    def downgrade(self, obj):
        if not _is_seat_price(obj) or "tiers" not in obj or "seat_tiers" in obj:
            return
        tiers = obj.pop("tiers") or {}
        minimum = obj.pop("minimum_units", None)
        maximum = obj.pop("maximum_units", None)
        seat_tiers, start = [], minimum or 1
        for tier in tiers.get("tiers") or []:
            bound = tier.get("bound")
            amount = tier.get("unit_amount")
            seat_tiers.append({"min_seats": start, "max_seats": bound, "price_per_seat": int(float(amount or 0))})
            start = (bound or start) + 1
        obj["seat_tiers"] = {
            "seat_tier_type": tiers.get("type") or "volume",
            "tiers": seat_tiers,
            "minimum_seats": seat_tiers[0]["min_seats"] if seat_tiers else minimum,
            "maximum_seats": maximum,
        }

    def upgrade(self, obj, path):
        if not _is_seat_price(obj) or "seat_tiers" not in obj:
            return
        seat_tiers = obj.pop("seat_tiers")
        loc = ["body", *path, "seat_tiers"]
        serializer = _SeatTiersInput(data=seat_tiers)
        if not serializer.is_valid():
            raise PolarRequestValidationError(flatten_validation_errors(serializer.errors, tuple(loc)))
        tiers = serializer.validated_data["tiers"]
        for index, tier in enumerate(tiers):
            if tier.get("max_seats") is not None and tier["max_seats"] < tier["min_seats"]:
                raise PolarRequestValidationError.single(
                    [*loc, "tiers", index, "max_seats"], "max_seats must be greater than or equal to min_seats."
                )
        ordered = sorted(tiers, key=lambda tier: tier["min_seats"])
        for index, tier in enumerate(ordered[1:], start=1):
            previous_max = ordered[index - 1].get("max_seats")
            if previous_max is None:
                raise PolarRequestValidationError.single(
                    [*loc, "tiers", index - 1, "max_seats"], "Only the last tier may be unbounded."
                )
            if tier["min_seats"] != previous_max + 1:
                raise PolarRequestValidationError.single(
                    [*loc, "tiers", index, "min_seats"],
                    "Tiers must be contiguous: min_seats must follow the previous tier's max_seats.",
                )
        obj["tiers"] = {
            "type": serializer.validated_data.get("seat_tier_type") or "volume",
            "tiers": [{"bound": tier.get("max_seats"), "unit_amount": tier["price_per_seat"]} for tier in ordered],
        }
        obj["minimum_units"] = ordered[0]["min_seats"]

    def downgrade_schema(self, schemas):
        # Before 2027-01 a seat-based price is sent with ``seat_tiers`` (upgraded above); ``tiers`` is still
        # read when sent, so both are documented and neither is required.
        seat_price = schemas.get("SeatBasedPriceInputRequest")
        if seat_price is None:
            return
        seat_price["properties"]["seat_tiers"] = _SEAT_TIERS_SCHEMA
        seat_price["required"] = [name for name in seat_price.get("required", []) if name != "tiers"]


_SEAT_TIER_SCHEMA = {
    "type": "object",
    "required": ["min_seats", "price_per_seat"],
    "properties": {
        "min_seats": {"type": "integer", "minimum": 1},
        "max_seats": {"type": "integer", "minimum": 1, "nullable": True},
        "price_per_seat": {"type": "integer", "minimum": 0},
    },
}
_SEAT_TIERS_SCHEMA = {
    "type": "object",
    "required": ["tiers"],
    "properties": {
        "tiers": {"type": "array", "minItems": 1, "items": _SEAT_TIER_SCHEMA},
        "seat_tier_type": {"type": "string", "enum": ["volume", "graduated"], "nullable": True},
    },
}


def _is_license_key(obj: dict) -> bool:
    return "display_key" in obj and "key" in obj and "benefit_id" in obj


class LicenseKeyGrantSource(VersionChange):
    """2027-01: validated and granted license keys name the subscription or order that granted them."""

    version = "2027-01"

    def downgrade(self, obj):
        # Only the validate/activate shapes carry these keys internally (LicenseKeyRead does not).
        if _is_license_key(obj):
            for key in ("subscription_id", "subscription", "order_id", "order"):
                obj.pop(key, None)


class LicenseKeyMember(VersionChange):
    """2026-10: license keys name the seat member holding them (``member_id``, ``member``)."""

    version = "2026-10"

    def downgrade(self, obj):
        if _is_license_key(obj):
            obj.pop("member_id", None)
            obj.pop("member", None)


CHANGES: tuple[VersionChange, ...] = (SeatTiersBecomeTiers(), LicenseKeyGrantSource(), LicenseKeyMember())


def _changes_between(version: str) -> list[VersionChange]:
    """The changes introduced after ``version``, newest first."""
    index = VERSIONS.index(version)
    newer = set(VERSIONS[index + 1 :])
    return sorted((c for c in CHANGES if c.version in newer), key=lambda c: VERSIONS.index(c.version), reverse=True)


def render(data, version: str):
    """``data`` (internal shape, JSON-like) in ``version``'s shape. Rewrites ``data`` in place and returns it."""
    changes = _changes_between(version)
    if not changes or data is None:
        return data
    for change in changes:  # newest -> oldest
        _walk_down(data, change.downgrade)
    return data


def render_schema(schema: dict, version: str) -> dict:
    """The OpenAPI ``schema`` (internal shapes) in ``version``'s shapes. Rewrites in place and returns it."""
    schemas = schema.get("components", {}).get("schemas", {})
    for change in _changes_between(version):  # newest -> oldest
        change.downgrade_schema(schemas)
    return schema


def upgrade_request(data, version: str):
    """A request body of ``version``'s shape in the internal (newest) shape. Rewrites in place."""
    changes = _changes_between(version)
    for change in reversed(changes):  # oldest -> newest
        _walk(data, change.upgrade)
    return data
