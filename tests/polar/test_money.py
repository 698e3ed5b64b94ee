"""polar/money.py: the one rounding rule, the accepted currencies, the largest amount and the display format,
each pinned to exact values (a change to any of them must fail here)."""

from decimal import Decimal

import pytest

from polar import money


@pytest.mark.parametrize(
    ("exact", "rounded"),
    [
        (Decimal("2.5"), 3),
        (Decimal("-2.5"), -3),  # half away from zero on the negative side too, not toward +inf
        (Decimal("-0.5"), -1),
        (Decimal("0.5"), 1),
        (Decimal("2.4999"), 2),
        (Decimal("-2.4999"), -2),
        (Decimal("-1.5"), -2),
        (Decimal("1.5"), 2),  # not banker's rounding (which gives 2 for 2.5 and 2 for 1.5)
        (Decimal("0"), 0),
        (Decimal("-0.49"), 0),
    ],
)
def test_round_minor_units_is_half_away_from_zero(exact, rounded):
    assert money.round_minor_units(exact) == rounded


def test_round_minor_units_accepts_integers_and_strings_exactly():
    assert money.round_minor_units(7) == 7
    assert money.round_minor_units("12.5") == 13
    assert money.round_minor_units("-12.5") == -13
    assert isinstance(money.round_minor_units(Decimal("1.2")), int)


def test_the_accepted_currencies():
    assert money.SUPPORTED_CURRENCIES == {
        "usd", "eur", "gbp", "cad", "aud", "chf", "sek", "nok", "dkk", "nzd", "sgd", "hkd", "inr", "brl", "mxn",
        "pln", "czk",
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof",
        "xpf",
    }  # fmt: skip
    assert money.ZERO_DECIMAL_CURRENCIES < money.SUPPORTED_CURRENCIES
    assert "jpy" in money.ZERO_DECIMAL_CURRENCIES and "usd" not in money.ZERO_DECIMAL_CURRENCIES


@pytest.mark.parametrize("code", ["usd", "jpy", "czk"])
def test_valid_currencies(code):
    assert money.is_valid_currency(code) is True


@pytest.mark.parametrize("code", ["USD", "xxx", "", None, 840, "usd "])
def test_invalid_currencies(code):
    assert money.is_valid_currency(code) is False


def test_the_largest_amount():
    # Sums of many such amounts stay far below a BigIntegerField's 9.2e18.
    assert money.MAX_AMOUNT == 99_999_999_999


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (0, "usd", "$0.00"),
        (5, "usd", "$0.05"),
        (5000, "usd", "$50.00"),
        (123456789, "usd", "$1,234,567.89"),
        (-1234, "eur", "-€12.34"),
        (-5, "eur", "-€0.05"),
        (0, "jpy", "¥0"),
        (5000, "jpy", "¥5,000"),
        (-5000, "jpy", "-¥5,000"),
        (1250, "chf", "CHF 12.50"),
        (-1250, "chf", "-CHF 12.50"),
        (1000, "clp", "CLP 1,000"),
        (1250, "USD", "$12.50"),  # the code is read in any case
        (1999, "gbp", "£19.99"),
        (100, "brl", "R$1.00"),
        (100, "krw", "₩100"),
        (100, "inr", "₹1.00"),
    ],
)
def test_format_amount(amount, currency, shown):
    assert money.format_amount(amount, currency) == shown


def test_format_amount_without_a_currency_shows_the_bare_number():
    assert money.format_amount(1250, "") == "12.50"
    assert money.format_amount(-1250, None) == "-12.50"
