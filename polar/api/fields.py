"""Serializer fields bounded by what the database and the pricing engine can hold.

Every number the API accepts has a ceiling no larger than its column's: a value that passes the
serializer can be stored, summed and priced without an overflow turning into a 500. The limits are
named here once and documented in ``docs/input-limits.md``.
"""

from __future__ import annotations

import datetime as dt

from rest_framework import serializers

from polar import clock, money

from .metadata import METADATA_SCHEMA, MetadataField, validate_metadata  # noqa: F401  (re-exported)

# PostgreSQL column ranges (Django: IntegerField / PositiveIntegerField -> integer, BigIntegerField -> bigint).
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

# Domain limits, each below its column's range.
MAX_AMOUNT = money.MAX_AMOUNT  # minor units; sums of line items stay far below bigint
MAX_SEATS = 100_000  # seats of one subscription or checkout; a seat-tier boundary
MAX_REDEMPTIONS = 1_000_000_000  # discount max_redemptions (integer column)
MAX_LICENSE_KEY_USAGE = 1_000_000_000  # license key usage, limit_usage, increment_usage (integer column)
MAX_LICENSE_KEY_ACTIVATIONS = 50  # Polar's limit
# A license key expires at most 100 years after it is granted: the expiry stays a valid datetime.
MAX_LICENSE_KEY_TTL = {"day": 36_500, "month": 1_200, "year": 100}
# Datetimes accepted anywhere: far enough to be "never", near enough that adding a period stays in range.
MIN_DATETIME = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_DATETIME = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
# A trial ends at most this long after it is asked for (subscriptions' trial_end).
MAX_TRIAL_AHEAD = dt.timedelta(days=5 * 366)


class BoundedIntegerField(serializers.IntegerField):
    """An ``IntegerField`` whose maximum never exceeds ``column_max`` (and whose minimum never goes below
    ``-column_max - 1``), whatever the caller passes: no declaration can forget the column's range."""

    column_max = INT32_MAX

    def __init__(self, **kwargs):
        kwargs["max_value"] = min(kwargs.get("max_value", self.column_max), self.column_max)
        kwargs["min_value"] = max(kwargs.get("min_value", -self.column_max - 1), -self.column_max - 1)
        super().__init__(**kwargs)


class Int32Field(BoundedIntegerField):
    """For ``IntegerField`` / ``PositiveIntegerField`` columns (PostgreSQL ``integer``)."""

    column_max = INT32_MAX


class Int64Field(BoundedIntegerField):
    """For ``BigIntegerField`` columns (PostgreSQL ``bigint``)."""

    column_max = INT64_MAX


class AmountField(Int64Field):
    """An amount in minor units: 0 to ``MAX_AMOUNT`` unless narrowed."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs["max_value"] = min(kwargs.get("max_value", MAX_AMOUNT), MAX_AMOUNT)
        super().__init__(**kwargs)


class SeatsField(Int32Field):
    """A number of seats: 1 to ``MAX_SEATS``."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs["max_value"] = min(kwargs.get("max_value", MAX_SEATS), MAX_SEATS)
        super().__init__(**kwargs)


class BoundedDateTimeField(serializers.DateTimeField):
    """A ``DateTimeField`` within ``[MIN_DATETIME, MAX_DATETIME]`` (or ``max_ahead`` of now, when given):
    dates at the edge of Python's range overflow as soon as a period is added to them."""

    default_error_messages = {
        "datetime_too_old": "Input should be on or after {min}",
        "datetime_too_late": "Input should be on or before {max}",
    }

    def __init__(self, *, max_ahead: dt.timedelta | None = None, **kwargs):
        self.max_ahead = max_ahead
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        try:
            parsed = super().to_internal_value(value)
        except OverflowError:
            self.fail("datetime_too_late", max=MAX_DATETIME.isoformat())
        latest = MAX_DATETIME
        if self.max_ahead is not None:
            latest = min(latest, clock.now() + self.max_ahead)
        if parsed < MIN_DATETIME:
            self.fail("datetime_too_old", min=MIN_DATETIME.isoformat())
        if parsed > latest:
            self.fail("datetime_too_late", max=latest.isoformat())
        return parsed


# ISO 3166-1 alpha-2 codes Polar accepts on input (AddressInput); CU, IR, KP, RU and SY are refused.
COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY
    BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO
    FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IS IT JE JM
    JO JP KE KG KH KI KM KN KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA
    RE RO RS RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT
    TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW""".split()
)
ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "state", "country")
ADDRESS_LINE_MAX_LENGTH = 256
POSTAL_CODE_MAX_LENGTH = 64


class AddressInput(serializers.Serializer):
    """Polar's ``AddressInput``: the only shape a billing address is accepted in (customers, checkouts,
    the hosted checkout page). Unknown keys are dropped (as Polar ignores them), so that what is copied
    to the customer and the order is always a valid ``Address`` for the SDKs."""

    line1 = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=ADDRESS_LINE_MAX_LENGTH)
    line2 = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=ADDRESS_LINE_MAX_LENGTH)
    postal_code = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=POSTAL_CODE_MAX_LENGTH)
    city = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=ADDRESS_LINE_MAX_LENGTH)
    state = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=ADDRESS_LINE_MAX_LENGTH)
    country = serializers.CharField(max_length=2)

    def validate_country(self, value):
        value = value.upper()
        if value not in COUNTRIES:
            raise serializers.ValidationError("Input should be a valid ISO 3166-1 alpha-2 country code", code="enum")
        return value

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        # Stored with every key, blanks as null, so the output shape never varies.
        return {name: (values.get(name) or None) for name in ADDRESS_FIELDS}


__all__ = [
    "ADDRESS_FIELDS",
    "COUNTRIES",
    "MAX_AMOUNT",
    "MAX_DATETIME",
    "MAX_LICENSE_KEY_ACTIVATIONS",
    "MAX_LICENSE_KEY_TTL",
    "MAX_LICENSE_KEY_USAGE",
    "MAX_REDEMPTIONS",
    "MAX_SEATS",
    "MAX_TRIAL_AHEAD",
    "AddressInput",
    "AmountField",
    "BoundedDateTimeField",
    "Int32Field",
    "Int64Field",
    "MetadataField",
    "SeatsField",
    "validate_metadata",
]
