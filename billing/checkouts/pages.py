"""Server-rendered pages: the hosted checkout.

It calls the same services as the API: the page submits to ``checkout_confirm`` (the same function as
``POST /v1/checkouts/client/{client_secret}/confirm``). The invoice page lives in ``billing.orders.pages``.
"""

from __future__ import annotations

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from billing.checkouts import payloads as checkout_payloads
from billing.checkouts import services as checkout_services
from billing.checkouts.selectors import checkout_get_by_client_secret
from billing.checkouts.serializers import CheckoutConfirmInput
from polar import clock, money
from polar.api.exceptions import flatten_validation_errors
from polar.errors import PolarError, PolarRequestValidationError


def _page_context(checkout, *, form=None, error=None, selected_product_id=None):
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
        "trial_end": trial_end,
        "form": form or {"customer_email": checkout.customer_email or "", "customer_name": checkout.customer_name or ""},
        "error": error,
    }


_ADDRESS_FORM_FIELDS = {f"billing_{name}": name for name in ("line1", "line2", "postal_code", "city", "state", "country")}
_FORM_FIELDS = ("customer_email", "customer_name", "card_number", "product_id", "discount_code", *_ADDRESS_FORM_FIELDS)


def _confirm_input(form: dict) -> dict:
    """The page's form as ``checkout_confirm``'s keyword arguments, validated as the public confirm's body."""
    data = {
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
    try:
        # The form goes through the API's own input (CheckoutConfirmInput): a product id that is not a UUID,
        # or an address that is not Polar's Address, is a 422 on the page, never a database error.
        checkout = checkout_services.checkout_confirm(checkout=checkout, **_confirm_input(form))
    except PolarRequestValidationError as exc:
        checkout.refresh_from_db()
        message = "; ".join(error["msg"] for error in exc.errors)
        return render(
            request,
            "checkout/page.html",
            _page_context(checkout, form=form, error=message, selected_product_id=form["product_id"]),
            status=422,
        )
    except PolarError as exc:
        checkout.refresh_from_db()
        decline = getattr(exc, "decline_code", None) or (getattr(getattr(exc, "payment", None), "decline_reason", None))
        message = exc.detail if not decline else f"Your card was declined ({decline})."
        return render(
            request,
            "checkout/page.html",
            _page_context(checkout, form=form, error=message, selected_product_id=form["product_id"]),
            status=exc.status_code,
        )
    return HttpResponseRedirect(checkout.success_url or f"/checkout/{checkout.client_secret}")
