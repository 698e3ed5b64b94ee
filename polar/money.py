"""Money: integer minor units plus a lowercase ISO 4217 currency, and the one rounding rule.

Rounding rule (the only one in the code base): amounts are computed exactly with ``Decimal``
and rounded once, per line item, to whole minor units, half away from zero
(``ROUND_HALF_UP`` in ``decimal``'s terms, which rounds -2.5 to -3).
"""

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 codes we accept; all of them have two decimal places except the zero-decimal ones.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
SUPPORTED_CURRENCIES = frozenset(
    {"usd", "eur", "gbp", "cad", "aud", "chf", "sek", "nok", "dkk", "nzd", "sgd", "hkd", "inr", "brl", "mxn", "pln", "czk"}
    | ZERO_DECIMAL_CURRENCIES
)

# Amounts are stored in BigIntegerField; keep them far from its limit so sums cannot overflow.
MAX_AMOUNT = 99_999_999_999


def round_minor_units(value: Decimal) -> int:
    """Round an exact amount in minor units to an integer, half away from zero."""
    if not isinstance(value, Decimal):
        value = Decimal(value)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def is_valid_currency(code: str) -> bool:
    return isinstance(code, str) and code in SUPPORTED_CURRENCIES


def format_amount(amount: int, currency: str) -> str:
    """Human display for invoices and support pages: 1234 usd -> '12.34 USD'."""
    if currency in ZERO_DECIMAL_CURRENCIES:
        return f"{amount:,} {currency.upper()}"
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 100)
    return f"{sign}{major:,}.{minor:02d} {currency.upper()}"
