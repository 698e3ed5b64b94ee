"""The customer portal pages' forms (``billing.portal.pages``). They check the shape of what was typed;
the services decide the rest (a declined card, a subscription that cannot be canceled)."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from billing.models.subscriptions import CustomerCancellationReason


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


class CardForm(forms.Form):
    """A new card. The number goes to the processor as the token, as on the hosted checkout (the sandbox
    accepts its test card numbers, docs/sandbox.md)."""

    card_number = forms.CharField(max_length=23, label="Card number")

    def clean_card_number(self) -> str:
        digits = self.cleaned_data["card_number"].replace(" ", "").replace("-", "")
        if not digits.isdigit() or not 12 <= len(digits) <= 19 or not _luhn_ok(digits):
            raise forms.ValidationError("Invalid card number: check the number and try again.")
        return digits


class CancelForm(forms.Form):
    """Why the customer cancels (optional, as in Polar's portal)."""

    reason = forms.ChoiceField(
        choices=[("", "Prefer not to say"), *CustomerCancellationReason.choices], required=False, label="Reason"
    )
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False, label="Comment")


class LinkRequestForm(forms.Form):
    """The e-mail address a new sign-in link is sent to."""

    email = forms.EmailField(max_length=320, label="Email")


class UnitsForm(forms.Form):
    """A new quantity of a unit-based subscription, within the price's ``minimum_units`` and
    ``maximum_units`` (the service checks them again)."""

    units = forms.IntegerField(label="Quantity")

    def __init__(self, *args, unit_price, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["units"]
        field.min_value = unit_price.minimum_units or 1
        field.validators.append(MinValueValidator(field.min_value))
        field.widget.attrs["min"] = field.min_value
        if unit_price.maximum_units is not None:
            field.max_value = unit_price.maximum_units
            field.validators.append(MaxValueValidator(unit_price.maximum_units))
            field.widget.attrs["max"] = unit_price.maximum_units
        field.label = f"Number of {unit_price.unit_noun(2)}"
