"""The support pages' action forms: the shape of what was typed (a reason, an amount in the order's currency);
the services decide the rest (roles, what is left to refund, whether a payment can be retried)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms

from billing.support.services import REASON_MAX_LENGTH
from polar.money import MAX_AMOUNT, ZERO_DECIMAL_CURRENCIES


def amount_to_minor_units(text: str, currency: str) -> int:
    """``"12.50"`` usd → 1250; ``"500"`` jpy → 500. Refuses more decimals than the currency has, signs,
    and amounts beyond ``MAX_AMOUNT`` (``forms.ValidationError``)."""
    cleaned = (text or "").strip().replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise forms.ValidationError("Enter an amount such as 12.50.") from None
    if not value.is_finite() or value <= 0:
        raise forms.ValidationError("Enter an amount greater than zero.")
    exponent = 0 if currency.lower() in ZERO_DECIMAL_CURRENCIES else 2
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise forms.ValidationError(f"At most {exponent} decimal places in {currency.upper()}.")
    if minor > MAX_AMOUNT:
        raise forms.ValidationError("That amount is too large.")
    return int(minor)


class ReasonForm(forms.Form):
    """Every action states why (kept with its audit entries). ``form_token`` makes a second submission of
    the same form (a double click, a reload) do nothing: the page claims it once."""

    reason = forms.CharField(max_length=REASON_MAX_LENGTH, strip=True, label="Reason")
    form_token = forms.UUIDField(widget=forms.HiddenInput)


class RefundForm(ReasonForm):
    amount = forms.CharField(max_length=32, label="Amount")

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_amount(self) -> int:
        return amount_to_minor_units(self.cleaned_data["amount"], self.currency)
