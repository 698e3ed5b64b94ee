"""Checkout links: create, update, delete (merchant API) and open (the public redirect).

A link holds no money: it is a template for checkout sessions. ``checkout_link_open`` creates the
session through ``billing.checkouts.services.checkout_open``, so every rule of a checkout (prices,
currencies, discounts, seats, the organization's right to sell) is checked there, once.
"""

from __future__ import annotations

from django.db import transaction

from billing.checkouts import services as checkout_services
from billing.discounts.services import discount_unusable_reason
from billing.models import CheckoutLink, CheckoutLinkProduct, Discount, Product, ProductPrice, ProductVisibility
from billing.subscriptions.services import validate_seats, validate_units
from polar import clock
from polar.errors import PolarError, PolarRequestValidationError

UNIT_BASED = "unit_based"


def _invalid(loc, msg, type_="value_error"):
    return PolarRequestValidationError.single(list(loc), msg, type_)


def _validated_products(*, organization, product_ids, loc=("body", "products")) -> list[Product]:
    found = {p.id: p for p in Product.objects.filter(organization=organization, pk__in=product_ids)}
    errors = []
    products = []
    for index, product_id in enumerate(product_ids):
        product = found.get(product_id)
        message = None
        if product is None:
            message = "Product does not exist."
        elif product.is_archived:
            message = "Product is archived."
        elif product.visibility == ProductVisibility.DRAFT:
            message = "Product is a draft."
        if message:
            errors.append({"loc": [*loc, index], "msg": message, "type": "value_error"})
        else:
            products.append(product)
    if len(set(product_ids)) != len(product_ids):
        errors.append({"loc": list(loc), "msg": "Products must be unique.", "type": "value_error"})
    if errors:
        raise PolarRequestValidationError(errors)
    return products


def _product_of_price(*, organization, price_id) -> Product:
    price = ProductPrice.objects.select_related("product").filter(product__organization=organization, pk=price_id).first()
    loc = ("body", "product_price_id")
    if price is None:
        raise _invalid(loc, "Price does not exist.")
    if price.is_archived:
        raise _invalid(loc, "Price is archived.")
    if price.product.is_archived:
        raise _invalid(loc, "Product is archived.")
    if price.product.visibility == ProductVisibility.DRAFT:
        raise _invalid(loc, "Product is a draft.")
    return price.product


def _validated_discount(*, organization, discount_id, products) -> Discount:
    discount = Discount.objects.filter(organization=organization, pk=discount_id, deleted_at__isnull=True).first()
    restricted = set(discount.discount_products.values_list("product_id", flat=True)) if discount else set()
    if discount is None or (restricted and not restricted & {p.id for p in products}):
        raise _invalid(("body", "discount_id"), "Discount does not exist or is not applicable to this product.")
    return discount


def _active_prices(product: Product) -> list[ProductPrice]:
    return list(product.all_prices.filter(is_archived=False))


def _validate_seats(seats: int, products) -> None:
    for product in products:
        prices = _active_prices(product)
        if not any(p.amount_type == ProductPrice.AmountType.SEAT_BASED for p in prices):
            raise _invalid(("body", "seats"), "Seats can only be preconfigured when all products use seat-based pricing.")
        try:
            validate_seats(prices, seats)
        except PolarRequestValidationError:
            raise _invalid(("body", "seats"), f"Product '{product.name}' does not allow {seats} seats.")


def _validate_units(units: int, products) -> None:
    for product in products:
        if not any(p.amount_type == UNIT_BASED for p in _active_prices(product)):
            raise _invalid(("body", "units"), "Units can only be preconfigured when all products use unit-based pricing.")
        try:
            validate_units(_active_prices(product), units)
        except PolarRequestValidationError:
            raise _invalid(("body", "units"), f"Product '{product.name}' does not allow {units} units.")


def _write_products(link: CheckoutLink, products) -> None:
    link.link_products.all().delete()
    CheckoutLinkProduct.objects.bulk_create(
        [CheckoutLinkProduct(checkout_link=link, product=product, order=index) for index, product in enumerate(products)]
    )


_SETTINGS = (
    "label",
    "success_url",
    "return_url",
    "trial_interval",
    "trial_interval_count",
    "metadata",
    "allow_discount_codes",
    "require_billing_address",
)
_NOT_NULL = {"metadata": {}, "allow_discount_codes": True, "require_billing_address": False}


def checkout_link_create(
    *, organization, products=None, product_id=None, product_price_id=None, discount_id=None, seats=None, units=None, **settings
) -> CheckoutLink:
    """Create a link to ``products`` (or the deprecated single ``product_id`` / ``product_price_id``).

    422 with ``loc`` and nothing written for: an unknown, foreign, archived or draft product or price, a
    discount of another organization or restricted to other products, seats or units the products do
    not all accept. No webhook (Polar has no checkout-link event). Idempotent through the API's
    Idempotency-Key only: two creates make two links, as on Polar."""
    if products is not None:
        resolved = _validated_products(organization=organization, product_ids=products)
    elif product_id is not None:
        resolved = _validated_products(organization=organization, product_ids=[product_id], loc=("body", "product_id"))
    else:
        resolved = [_product_of_price(organization=organization, price_id=product_price_id)]
    discount = _validated_discount(organization=organization, discount_id=discount_id, products=resolved) if discount_id else None
    if seats is not None:
        _validate_seats(seats, resolved)
    if units is not None:
        _validate_units(units, resolved)
    values = {
        name: (_NOT_NULL.get(name) if settings.get(name) is None else settings[name]) for name in _SETTINGS if name in settings
    }
    with transaction.atomic():
        link = CheckoutLink.objects.create(organization=organization, discount=discount, seats=seats, units=units, **values)
        _write_products(link, resolved)
    return link


def checkout_link_update(*, link: CheckoutLink, **changes) -> CheckoutLink:
    """Change a link's settings or products (replaced as a whole, in the order given). Locks the link row.

    As on Polar: products that are all one-time drop the trial; a products change that leaves the seat or
    unit lock invalid clears it, while an explicit ``seats`` / ``units`` is validated strictly. 422 with
    ``loc`` and nothing written on bad input."""
    with transaction.atomic():
        link = CheckoutLink.objects.select_for_update(of=("self",)).select_related("organization").get(pk=link.pk)
        organization = link.organization
        products = [row.product for row in link.link_products.select_related("product").order_by("order")]
        if changes.get("products") is not None:
            products = _validated_products(organization=organization, product_ids=changes["products"])
            _write_products(link, products)
            if not any(product.is_recurring for product in products):
                link.trial_interval = link.trial_interval_count = None
        if "discount_id" in changes:
            discount_id = changes["discount_id"]
            link.discount = (
                _validated_discount(organization=organization, discount_id=discount_id, products=products)
                if discount_id
                else None
            )
        for name, validate in (("seats", _validate_seats), ("units", _validate_units)):
            if name in changes:
                if changes[name] is not None:
                    validate(changes[name], products)
                setattr(link, name, changes[name])
            elif changes.get("products") is not None and getattr(link, name) is not None:
                try:
                    validate(getattr(link, name), products)
                except PolarRequestValidationError:
                    setattr(link, name, None)
        for name in _SETTINGS:
            if name in changes:
                setattr(link, name, _NOT_NULL.get(name) if changes[name] is None and name in _NOT_NULL else changes[name])
        link.modified_at = clock.now()
        link.save()
    return link


def checkout_link_delete(*, link: CheckoutLink) -> None:
    """Soft delete: the link's URL answers 404 from now on; checkouts opened from it are untouched.
    Deleting twice is a no-op (the second call finds nothing through the selectors: 404)."""
    with transaction.atomic():
        locked = CheckoutLink.objects.select_for_update().get(pk=link.pk)
        if locked.deleted_at is None:
            locked.deleted_at = locked.modified_at = clock.now()
            locked.save(update_fields=["deleted_at", "modified_at"])


class CheckoutLinkUnavailable(PolarError):
    """The link's products are all archived or drafts now: nothing to sell."""

    status_code = 404
    error = "ResourceNotFound"


def checkout_link_open(
    *,
    link: CheckoutLink,
    product_id=None,
    customer_email=None,
    customer_name=None,
    discount_code=None,
    locale=None,
    embed_origin=None,
    query_metadata: dict | None = None,
):
    """Open a new checkout session from ``link`` (the buyer followed its URL) and return it.

    The session offers the link's products still for sale, ``product_id`` selected first when it is one
    of them; the link's discount applies when it still can (otherwise it is ignored, as on Polar); its
    seat lock applies when the selected product still accepts it. ``query_metadata`` (``reference_id``,
    ``utm_*`` from the URL) is added to the link's metadata. Every request opens a new session (a GET
    is not idempotent here, on purpose: each visitor gets their own checkout)."""
    products = [p for p in (row.product for row in link.link_products.all()) if not p.is_archived and p.visibility != "draft"]
    if not products:
        raise CheckoutLinkUnavailable("This checkout link has no product for sale.")
    if product_id is not None:
        products.sort(key=lambda p: p.id != product_id)
    selected = products[0]
    discount = link.discount
    if discount is not None and discount_unusable_reason(discount=discount, product=selected) is not None:
        discount = None
    if discount is None and discount_code and link.allow_discount_codes:
        try:
            candidate = checkout_services.discount_by_code(organization=link.organization, code=discount_code)
        except PolarRequestValidationError:
            candidate = None
        if candidate is not None and discount_unusable_reason(discount=candidate, product=selected) is None:
            discount = candidate
    seats = None
    if link.seats is not None:
        try:
            _validate_seats(link.seats, [selected])
            seats = link.seats
        except PolarRequestValidationError:
            seats = None
    units = None
    if link.units is not None:
        try:  # a unit lock the selected product no longer allows is cleared, like seats
            _validate_units(link.units, [selected])
            units = link.units
        except PolarRequestValidationError:
            units = None
    metadata = {**(link.metadata or {}), **{k: v for k, v in (query_metadata or {}).items() if v}}
    options = dict(
        organization=link.organization,
        products=[p.id for p in products],
        allow_discount_codes=link.allow_discount_codes,
        require_billing_address=link.require_billing_address,
        trial_interval=link.trial_interval,
        trial_interval_count=link.trial_interval_count,
        success_url=link.success_url,
        return_url=link.return_url,
        embed_origin=embed_origin,
        customer_email=customer_email,
        customer_name=customer_name,
        locale=locale,
        seats=seats,
        units=units,
        metadata=metadata,
    )
    try:
        return checkout_services.checkout_open(discount=discount, **options)
    except PolarRequestValidationError as error:
        # A discount that stopped applying (e.g. no amount in the checkout's currency) is ignored, as on Polar.
        if discount is None or error.errors[0]["loc"][-1] != "discount_id":
            raise
    return checkout_services.checkout_open(discount=None, **options)
