"""Discounts: create/update/delete, applicability, and redemption under concurrency.

Checkouts call ``discount_applicable`` (a read, for showing a price) and ``discount_redeem`` (the write,
when a checkout is confirmed). ``discount_redeem`` locks the discount row, so N concurrent redemptions of
a discount with ``max_redemptions = k`` end with exactly k redemptions; the check constraint
``redemptions_count <= max_redemptions`` is the last line of defence.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from billing.models import (
    Discount,
    DiscountAmount,
    DiscountProduct,
    DiscountRedemption,
    Product,
)
from polar import clock, money
from polar.errors import PolarRequestValidationError

_UNSET = object()


class DiscountNotRedeemable(PolarRequestValidationError):
    """The discount cannot be used now by this customer/product. Rendered as a 422 on ``discount_id``
    (how Polar's checkout reports it); ``reason`` says why for callers that branch on it."""

    def __init__(self, reason: str, msg: str, loc=("body", "discount_id")):
        self.reason = reason
        super().__init__([{"loc": list(loc), "msg": msg, "type": "value_error"}])


def _invalid(loc, msg, type_="value_error"):
    return PolarRequestValidationError.single(list(loc), msg, type_)


def _normalize_amounts(*, amount=None, currency=None, amounts=None) -> dict[str, int]:
    result: dict[str, int] = {}
    for code, value in (amounts or {}).items():
        code_lower = str(code).lower()
        if not money.is_valid_currency(code_lower):
            raise _invalid(("body", "amounts", code), f"{code!r} is not a supported currency.", "enum")
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0 or value > money.MAX_AMOUNT:
            raise _invalid(("body", "amounts", code), "Amount must be a positive integer of minor units.", "greater_than")
        result[code_lower] = value
    if amount is not None:
        currency = (currency or "usd").lower()
        if not money.is_valid_currency(currency):
            raise _invalid(("body", "currency"), f"{currency!r} is not a supported currency.", "enum")
        if amount <= 0:
            raise _invalid(("body", "amount"), "Input should be greater than 0", "greater_than")
        result.setdefault(currency, amount)
    if not result:
        raise _invalid(("body", "amounts"), "A fixed discount needs an amount in at least one currency.", "missing")
    return result


def _resolve_products(*, organization, products) -> list[Product]:
    found = {product.pk: product for product in Product.objects.filter(organization=organization, pk__in=products)}
    result = []
    for index, product_id in enumerate(products):
        product = found.get(product_id)
        if product is None:
            raise _invalid(("body", "products", index), "Product does not exist.")
        if product not in result:
            result.append(product)
    return result


def _check_code_free(*, organization, code: str, exclude_pk=None) -> None:
    queryset = Discount.objects.annotate(code_lower=Lower("code")).filter(
        organization=organization, deleted_at__isnull=True, code_lower=code.lower()
    )
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    if queryset.exists():
        raise _invalid(("body", "code"), "A discount with this code already exists.")


def _check_window(starts_at, ends_at) -> None:
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise _invalid(("body", "ends_at"), "ends_at must be after starts_at.")


def _check_duration(duration, duration_in_months):
    if duration == Discount.Duration.REPEATING:
        if not duration_in_months:
            raise _invalid(("body", "duration_in_months"), "duration_in_months is required for a repeating discount.", "missing")
        return duration_in_months
    return None


def discount_create(
    *,
    organization,
    name: str,
    type: str,
    duration: str,
    duration_in_months: int | None = None,
    basis_points: int | None = None,
    amount: int | None = None,
    currency: str | None = None,
    amounts: dict | None = None,
    code: str | None = None,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    max_redemptions: int | None = None,
    max_redemptions_per_customer: int | None = None,
    products: list | None = None,
    metadata: dict | None = None,
) -> Discount:
    """Create a discount. A code must be free in the organization ignoring case (the partial unique index
    settles a race: the loser gets the same 422). Products must be the organization's."""
    duration_in_months = _check_duration(duration, duration_in_months)
    if type == Discount.Type.PERCENTAGE:
        if basis_points is None:
            raise _invalid(("body", "basis_points"), "Field required", "missing")
        if not 1 <= basis_points <= 10_000:
            raise _invalid(("body", "basis_points"), "basis_points must be between 1 and 10000.")
        fixed_amounts = {}
    else:
        fixed_amounts = _normalize_amounts(amount=amount, currency=currency, amounts=amounts)
        basis_points = None
    _check_window(starts_at, ends_at)
    product_rows = _resolve_products(organization=organization, products=products or [])
    if code:
        _check_code_free(organization=organization, code=code)
    try:
        with transaction.atomic():
            discount = Discount.objects.create(
                organization=organization,
                name=name,
                type=type,
                basis_points=basis_points,
                duration=duration,
                duration_in_months=duration_in_months,
                code=code or None,
                starts_at=starts_at,
                ends_at=ends_at,
                max_redemptions=max_redemptions,
                max_redemptions_per_customer=max_redemptions_per_customer,
                metadata=metadata or {},
            )
            for currency_code, value in fixed_amounts.items():
                DiscountAmount.objects.create(discount=discount, currency=currency_code, amount=value)
            for product in product_rows:
                DiscountProduct.objects.create(discount=discount, product=product)
    except IntegrityError:
        raise _invalid(("body", "code"), "A discount with this code already exists.")
    return discount


def discount_update(
    *,
    discount: Discount,
    name=_UNSET,
    code=_UNSET,
    starts_at=_UNSET,
    ends_at=_UNSET,
    max_redemptions=_UNSET,
    max_redemptions_per_customer=_UNSET,
    products=_UNSET,
    metadata=_UNSET,
    duration=_UNSET,
    duration_in_months=_UNSET,
    basis_points=_UNSET,
    amount=_UNSET,
    currency=_UNSET,
    amounts=_UNSET,
) -> Discount:
    """Change a discount; only given arguments change. Locks the discount row.

    What a discount is worth (duration, basis points, amounts) can change only while it has no
    redemptions: customers who redeemed it keep what they were promised. ``max_redemptions`` cannot go
    below the redemptions already made.
    """
    try:
        with transaction.atomic():
            discount = Discount.objects.select_for_update().get(pk=discount.pk)
            organization = discount.organization
            worth_changes = {
                key: value
                for key, value in (
                    ("duration", duration),
                    ("duration_in_months", duration_in_months),
                    ("basis_points", basis_points),
                    ("amount", amount),
                    ("currency", currency),
                    ("amounts", amounts),
                )
                if value is not _UNSET
            }
            if worth_changes and discount.redemptions_count > 0:
                field = next(iter(worth_changes))
                raise _invalid(("body", field), "A discount that has been redeemed cannot change its value.")
            fields = []
            if "duration" in worth_changes or "duration_in_months" in worth_changes:
                new_duration = worth_changes.get("duration", discount.duration)
                discount.duration_in_months = _check_duration(
                    new_duration, worth_changes.get("duration_in_months", discount.duration_in_months)
                )
                discount.duration = new_duration
                fields += ["duration", "duration_in_months"]
            if "basis_points" in worth_changes:
                if discount.type != Discount.Type.PERCENTAGE:
                    raise _invalid(("body", "basis_points"), "Only percentage discounts have basis_points.")
                if basis_points is None or not 1 <= basis_points <= 10_000:
                    raise _invalid(("body", "basis_points"), "basis_points must be between 1 and 10000.")
                discount.basis_points = basis_points
                fields.append("basis_points")
            if {"amount", "amounts", "currency"} & set(worth_changes):
                if discount.type != Discount.Type.FIXED:
                    raise _invalid(
                        ("body", next(iter({"amount", "amounts", "currency"} & set(worth_changes)))),
                        "Only fixed discounts have amounts.",
                    )
                new_amounts = _normalize_amounts(
                    amount=worth_changes.get("amount"),
                    currency=worth_changes.get("currency"),
                    amounts=worth_changes.get("amounts"),
                )
                discount.amounts.all().delete()
                for currency_code, value in new_amounts.items():
                    DiscountAmount.objects.create(discount=discount, currency=currency_code, amount=value)
            new_starts = discount.starts_at if starts_at is _UNSET else starts_at
            new_ends = discount.ends_at if ends_at is _UNSET else ends_at
            _check_window(new_starts, new_ends)
            if starts_at is not _UNSET or ends_at is not _UNSET:
                discount.starts_at, discount.ends_at = new_starts, new_ends
                fields += ["starts_at", "ends_at"]
            if max_redemptions is not _UNSET:
                if max_redemptions is not None and max_redemptions < discount.redemptions_count:
                    raise _invalid(
                        ("body", "max_redemptions"),
                        f"max_redemptions cannot be lower than the {discount.redemptions_count} redemptions already made.",
                    )
                discount.max_redemptions = max_redemptions
                fields.append("max_redemptions")
            if code is not _UNSET:
                if code:
                    _check_code_free(organization=organization, code=code, exclude_pk=discount.pk)
                discount.code = code or None
                fields.append("code")
            for attribute, value in (
                ("name", name),
                ("max_redemptions_per_customer", max_redemptions_per_customer),
                ("metadata", metadata),
            ):
                if value is not _UNSET:
                    setattr(discount, attribute, value if attribute != "metadata" else (value or {}))
                    fields.append(attribute)
            if products is not _UNSET:
                wanted = _resolve_products(organization=organization, products=products or [])
                wanted_ids = {product.pk for product in wanted}
                existing = {link.product_id: link for link in discount.discount_products.all()}
                for product_id, link in existing.items():
                    if product_id not in wanted_ids:
                        link.delete()
                for product in wanted:
                    if product.pk not in existing:
                        DiscountProduct.objects.create(discount=discount, product=product)
            discount.modified_at = clock.now()
            discount.save(update_fields=[*fields, "modified_at"])
    except IntegrityError:
        raise _invalid(("body", "code"), "A discount with this code already exists.")
    return discount


def discount_delete(*, discount: Discount) -> Discount:
    """Soft-delete: the code becomes free again and the discount can no longer be redeemed; redemptions
    keep pointing at it. Idempotent."""
    with transaction.atomic():
        discount = Discount.objects.select_for_update().get(pk=discount.pk)
        if discount.deleted_at is None:
            discount.deleted_at = clock.now()
            discount.modified_at = discount.deleted_at
            discount.save(update_fields=["deleted_at", "modified_at"])
    return discount


def discount_unusable_reason(
    *, discount: Discount, product: Product | None = None, customer=None, currency: str | None = None, at=None
) -> tuple[str, str] | None:
    """Why ``discount`` cannot be used now (``(reason, message)``), or None if it can.

    Reads without locking: a check for display. ``discount_redeem`` repeats it under the row lock."""
    at = at or clock.now()
    if discount.deleted_at is not None:
        return "deleted", "Discount does not exist."
    if discount.starts_at is not None and at < discount.starts_at:
        return "not_started", "Discount is not active yet."
    if discount.ends_at is not None and at >= discount.ends_at:
        return "ended", "Discount has expired."
    if discount.max_redemptions is not None and discount.redemptions_count >= discount.max_redemptions:
        return "max_redemptions", "Discount has been redeemed the maximum number of times."
    if product is not None:
        if product.organization_id != discount.organization_id:
            return "wrong_product", "Discount does not apply to this product."
        restricted = list(discount.discount_products.values_list("product_id", flat=True))
        if restricted and product.pk not in restricted:
            return "wrong_product", "Discount does not apply to this product."
    if currency is not None and discount.type == Discount.Type.FIXED:
        if not discount.amounts.filter(currency=currency.lower()).exists():
            return "wrong_currency", f"Discount has no amount in {currency.upper()}."
    if customer is not None and discount.max_redemptions_per_customer is not None:
        used = DiscountRedemption.objects.filter(discount=discount, customer=customer).count()
        if used >= discount.max_redemptions_per_customer:
            return "max_redemptions_per_customer", "Customer has already redeemed this discount the maximum number of times."
    return None


def discount_applicable(*, discount: Discount, product: Product | None = None, customer=None, currency=None, at=None) -> bool:
    return discount_unusable_reason(discount=discount, product=product, customer=customer, currency=currency, at=at) is None


def discount_redeem(
    *,
    discount: Discount,
    customer=None,
    product: Product | None = None,
    currency: str | None = None,
    checkout_id=None,
    subscription_id=None,
    order_id=None,
) -> DiscountRedemption:
    """Record one redemption and count it.

    Locks the discount row (``SELECT ... FOR UPDATE``) and re-checks every limit under the lock: the
    window, ``max_redemptions``, ``max_redemptions_per_customer`` (counted over this customer's
    redemptions), product restriction and currency. Raises ``DiscountNotRedeemable`` (422 on
    ``discount_id``) and writes nothing if any fails. Runs in the caller's transaction if there is one, so
    a failed checkout rolls the redemption back with it. Idempotent per ``checkout_id``: a second call for
    the same checkout returns the first redemption without counting it again (a partial unique index
    backs this).
    """
    with transaction.atomic():
        discount = Discount.objects.select_for_update().get(pk=discount.pk)
        if checkout_id is not None:
            # Idempotent per checkout: a retried confirmation gets the redemption it already made.
            existing = DiscountRedemption.objects.filter(discount=discount, checkout_id=checkout_id).first()
            if existing is not None:
                return existing
        problem = discount_unusable_reason(discount=discount, product=product, customer=customer, currency=currency)
        if problem is not None:
            raise DiscountNotRedeemable(*problem)
        redemption = DiscountRedemption.objects.create(
            discount=discount,
            customer=customer,
            checkout_id=checkout_id,
            subscription_id=subscription_id,
            order_id=order_id,
        )
        discount.redemptions_count += 1
        discount.modified_at = clock.now()
        discount.save(update_fields=["redemptions_count", "modified_at"])
    return redemption


def discount_amount_for(*, discount: Discount, amount: int, currency: str) -> int:
    """The amount off ``amount`` (minor units, one line) for this discount, rounded per polar.money and
    never more than ``amount``. Pure read; pricing calls it per line item."""
    from decimal import Decimal

    if discount.type == Discount.Type.PERCENTAGE:
        off = money.round_minor_units(Decimal(amount) * Decimal(discount.basis_points) / Decimal(10_000))
    else:
        row = discount.amounts.filter(currency=currency.lower()).first()
        off = row.amount if row else 0
    return max(0, min(off, amount))
