"""Server-rendered pages: the hosted checkout.

It calls the same services as the API: the page submits to ``checkout_confirm`` (the same function as
``POST /v1/checkouts/client/{client_secret}/confirm``). The invoice page lives in ``billing.orders.pages``.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from billing.checkouts import payloads as checkout_payloads
from billing.checkouts import services as checkout_services
from billing.checkouts.selectors import checkout_get_by_client_secret
from billing.checkouts.serializers import CheckoutConfirmInput
from billing.custom_fields.payloads import attached_custom_fields_output
from polar import clock, money
from polar.api.exceptions import flatten_validation_errors
from polar.errors import PolarError, PolarRequestValidationError

# Shown on the page in sandbox mode only (the sandbox processor's cards, docs/sandbox.md).
SANDBOX_TEST_CARDS = [
    ("4242 4242 4242 4242", "succeeds"),
    ("4000 0000 0000 0002", "declined (card_declined)"),
    ("4000 0000 0000 9995", "declined (insufficient_funds)"),
    ("4000 0000 0000 0341", "saved, then every charge declined"),
]

# A number that is not a card, in the buyer's words; any other code reads "Your card was declined (code)."
_DECLINE_MESSAGES = {
    "incorrect_number": "Invalid card number: check the number and try again.",
    "invalid_token": "Invalid card number: check the number and try again.",
}

# Which form field a 422's ``loc`` points at, so the message shows next to it.
_FIELD_FOR_LOC = {
    "confirmation_token_id": "card_number",
    "customer_email": "customer_email",
    "customer_name": "customer_name",
    "discount_code": "discount_code",
    "discount_id": "discount_code",
    "product_id": "product_id",
    "line1": "billing_line1",
    "line2": "billing_line2",
    "postal_code": "billing_postal_code",
    "city": "billing_city",
    "state": "billing_state",
    "country": "billing_country",
}


def _metered_prices(product, currency):
    """The product's metered prices, explained as billed by usage (unit price per unit of its meter)."""
    rows = []
    for price in product.all_prices.filter(is_archived=False, price_currency=currency).select_related("meter"):
        if price.is_static:
            continue
        unit = price.unit_amount
        tiers = [  # metered_tiers: "up to 1,000: 0", "above 100,000: 0.2" (graduated or volume)
            (f"up to {t['bound']:,}" if t.get("bound") is not None else "above", t["unit_amount"])
            for t in (price.tiers or {}).get("tiers") or ()
        ]
        rows.append(
            {
                "meter": price.meter.name if price.meter_id else "usage",
                "unit_amount": f"{unit.normalize():f}" if unit is not None else "",
                "currency": currency.upper(),
                "tiers": tiers,
                "tier_type": (price.tiers or {}).get("type"),
            }
        )
    return rows


def _units_label(checkout, product) -> str | None:
    """ "5 licences" for a unit_based price (the price's ``unit_label`` in the checkout's locale)."""
    price = checkout.product_price if checkout.product_id == product.id else None
    if price is None or price.amount_type != price.AmountType.UNIT_BASED or checkout.units is None:
        return None
    return f"{checkout.units:,} {price.unit_noun(checkout.units, (checkout.locale or 'en')[:2])}"


# The answers to custom fields are form fields named ``cf_<slug>`` (slugs are letters, digits, - and _).
_CUSTOM_FIELD_PREFIX = "cf_"


def _custom_field_rows(product, answers: dict, field_errors: dict) -> list[dict]:
    """The questions of ``product`` as the page shows them, with the answer given so far and its error."""
    rows = []
    for attached in attached_custom_fields_output(product):
        field = attached["custom_field"]
        properties, answer = field["properties"], answers.get(field["slug"])
        rows.append(
            {
                "input": _CUSTOM_FIELD_PREFIX + field["slug"],
                "type": field["type"],
                "label": properties.get("form_label") or field["name"],
                "help": properties.get("form_help_text"),
                "placeholder": properties.get("form_placeholder"),
                "required": attached["required"],
                "value": ""
                if answer is None or isinstance(answer, bool)
                else str(answer)[: 10 if field["type"] == "date" else None],
                "checked": answer is True or answer == "on",
                "options": properties.get("options", []),
                "error": field_errors.get(_CUSTOM_FIELD_PREFIX + field["slug"]),
            }
        )
    return rows


def _custom_field_answers(post, product) -> dict:
    """The page's answers as ``custom_field_data``: a ticked box is true (an unticked one is not sent by the
    browser: false), a blank input is no answer; the service checks the rest as for the API."""
    answers = {}
    for attached in attached_custom_fields_output(product):
        slug, kind = attached["custom_field"]["slug"], attached["custom_field"]["type"]
        value = post.get(_CUSTOM_FIELD_PREFIX + slug, "").strip()
        if kind == "checkbox":
            answers[slug] = bool(value)
        elif value:
            answers[slug] = value
    return answers


def _page_context(checkout, *, form=None, error=None, field_errors=None, selected_product_id=None, answers=None):
    products = [link.product for link in checkout.checkout_products.select_related("product").order_by("order")]
    selected = next((p for p in products if str(p.id) == str(selected_product_id)), None) or checkout.product
    preview = checkout_services.checkout_preview(checkout, product=selected, discount=checkout.discount, seats=checkout.seats)
    trial_end = checkout_payloads.checkout_trial_end(checkout, selected, clock.now())

    def fmt(amount):
        return money.format_amount(amount, checkout.currency)

    choices = []
    for product in products:
        product_preview = checkout_services.checkout_preview(checkout, product=product, discount=None, seats=checkout.seats)
        choices.append(
            {
                "id": str(product.id),
                "name": product.name,
                "description": product.description or "",
                "price": fmt(product_preview["amount"]),
                "interval": product.recurring_interval,
                "selected": product.id == selected.id,
            }
        )
    return {
        "checkout": checkout,
        "organization": checkout.organization,
        "product": selected,
        "choices": choices,
        "amount": fmt(preview["amount"]),
        "discount_amount": fmt(preview["discount_amount"]) if preview["discount_amount"] else None,
        "tax_amount": fmt(preview["tax_amount"]),
        "tax_rate": f"{preview['tax_rate_bps'] / 100:g} %",
        "total_amount": fmt(preview["total_amount"]),
        "metered_prices": _metered_prices(selected, checkout.currency),
        "units_label": _units_label(checkout, selected),
        "trial_end": trial_end,
        "form": form or {"customer_email": checkout.customer_email or "", "customer_name": checkout.customer_name or ""},
        "error": error,
        "field_errors": field_errors or {},
        "custom_fields": _custom_field_rows(
            selected, checkout.custom_field_data if answers is None else answers, field_errors or {}
        ),
        "sandbox_cards": SANDBOX_TEST_CARDS if getattr(settings, "PAYMENT_PROCESSOR", "sandbox") == "sandbox" else None,
    }


def _split_validation_errors(errors):
    """(message for the top of the form, {form field: message}) from a 422's errors."""
    field_errors, general = {}, []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        field = next((_FIELD_FOR_LOC[part] for part in reversed(loc) if part in _FIELD_FOR_LOC), None)
        if "custom_field_data" in loc[:-1]:
            field = _CUSTOM_FIELD_PREFIX + loc[-1]
        if field and field not in field_errors:
            message = error["msg"]
            if field == "card_number" and error.get("type") != "missing":
                message = _DECLINE_MESSAGES["incorrect_number"]
            field_errors[field] = message
        else:
            general.append(error["msg"])
    return "; ".join(general) or None, field_errors


_ADDRESS_FORM_FIELDS = {f"billing_{name}": name for name in ("line1", "line2", "postal_code", "city", "state", "country")}
_FORM_FIELDS = ("customer_email", "customer_name", "card_number", "product_id", "discount_code", *_ADDRESS_FORM_FIELDS)


def _confirm_input(form: dict, answers: dict) -> dict:
    """The page's form as ``checkout_confirm``'s keyword arguments, validated as the public confirm's body."""
    data = {
        "custom_field_data": answers,
        "customer_email": form["customer_email"] or None,
        "customer_name": form["customer_name"] or None,
        "confirmation_token_id": form["card_number"].replace(" ", "") or None,
        "product_id": form["product_id"] or None,
        "discount_code": form["discount_code"] or None,
    }
    address = {name: form[field] for field, name in _ADDRESS_FORM_FIELDS.items() if form[field]}
    if address:
        data["customer_billing_address"] = address
    serializer = CheckoutConfirmInput(data=data)
    if not serializer.is_valid():
        raise PolarRequestValidationError(flatten_validation_errors(serializer.errors, ("body",)))
    return dict(serializer.validated_data)


@require_http_methods(["GET", "POST"])
def checkout_page(request, client_secret):
    """GET shows the checkout; POST confirms it through ``checkout_confirm`` and redirects to the
    success URL. A decline re-renders the page with the decline (status 402); bad input with 422."""
    checkout = checkout_get_by_client_secret(client_secret=client_secret)
    if checkout is None:
        raise Http404("Checkout not found")
    if request.method == "GET":
        if checkout.status == checkout.Status.SUCCEEDED:
            return render(request, "checkout/confirmation.html", {"checkout": checkout, "organization": checkout.organization})
        return render(request, "checkout/page.html", _page_context(checkout))

    form = {name: request.POST.get(name, "").strip() for name in _FORM_FIELDS}
    offered = {str(link.product_id): link.product for link in checkout.checkout_products.select_related("product")}
    answers = _custom_field_answers(request.POST, offered.get(form["product_id"], checkout.product))
    try:
        # The form goes through the API's own input (CheckoutConfirmInput): a product id that is not a UUID,
        # or an address that is not Polar's Address, is a 422 on the page, never a database error.
        checkout = checkout_services.checkout_confirm(checkout=checkout, **_confirm_input(form, answers))
    except PolarRequestValidationError as exc:
        checkout.refresh_from_db()
        message, field_errors = _split_validation_errors(exc.errors)
        if not message and not field_errors:
            message = exc.detail if isinstance(exc.detail, str) else "Please check the form."
        context = _page_context(
            checkout,
            form=form,
            error=message,
            field_errors=field_errors,
            selected_product_id=form["product_id"],
            answers=answers,
        )
        return render(request, "checkout/page.html", context, status=422)
    except PolarError as exc:
        checkout.refresh_from_db()
        decline = getattr(exc, "decline_code", None) or (getattr(getattr(exc, "payment", None), "decline_reason", None))
        field_errors = {}
        message = exc.detail
        if decline:
            # A decline belongs to the card field: the form keeps everything else the buyer typed.
            field_errors["card_number"] = _DECLINE_MESSAGES.get(decline, f"Your card was declined ({decline}). Try another card.")
            message = None
        context = _page_context(
            checkout,
            form=form,
            error=message,
            field_errors=field_errors,
            selected_product_id=form["product_id"],
            answers=answers,
        )
        return render(request, "checkout/page.html", context, status=exc.status_code)
    return HttpResponseRedirect(checkout.success_url or f"/checkout/{checkout.client_secret}")


@require_http_methods(["GET"])
def demo_checkout_page(request):
    """``/demo/checkout`` (development and demo only): opens a fresh checkout of the demo merchant's first
    product and redirects to its hosted page, so the landing page can link to a sample checkout."""
    if not (getattr(settings, "DEVELOPMENT", False) or settings.DEBUG):
        raise Http404("No demo here")
    product = demo_product()
    if product is None:
        raise Http404("The demo merchant is not seeded (make seed)")
    try:
        checkout = checkout_services.checkout_create(organization=product.organization, products=[product.id])
    except PolarError as exc:  # e.g. the risk team blocked the demo merchant's checkouts (403)
        return HttpResponse(exc.detail, status=exc.status_code, content_type="text/plain")
    return HttpResponseRedirect(f"/checkout/{checkout.client_secret}")


def demo_product(slug: str = "demo"):
    """The demo organization's first live product, by name (None when the demo is not seeded)."""
    from billing.models import Product

    return (
        Product.objects.select_related("organization")
        .filter(organization__slug=slug, is_archived=False)
        .order_by("name", "id")
        .first()
    )
