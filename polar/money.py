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


# Symbols for display only; any other currency is shown with its upper-case code ("CHF 12.50").
CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "inr": "₹", "krw": "₩", "brl": "R$"}


def format_amount(amount: int, currency: str) -> str:
    """Human display of minor units, for pages, the admin and emails: 5000 usd -> '$50.00', -1234 eur ->
    '-€12.34', 5000 jpy -> '¥5,000' (zero-decimal currencies have no minor unit), 1250 chf -> 'CHF 12.50'."""
    currency = (currency or "").lower()
    sign = "-" if amount < 0 else ""
    if currency in ZERO_DECIMAL_CURRENCIES:
        number = f"{abs(amount):,}"
    else:
        major, minor = divmod(abs(amount), 100)
        number = f"{major:,}.{minor:02d}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{number}"
    if not currency:
        return f"{sign}{number}"
    return f"{sign}{currency.upper()} {number}"
