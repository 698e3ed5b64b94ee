"""Products and their versioned prices.

A price row is never edited: a product's prices change by archiving rows and inserting new versions, so
whatever bought a price (a subscription, an order, a grant) keeps pointing at exactly what it bought.
Every write happens in one transaction with its ``product.*`` webhook; invalid input raises
``PolarRequestValidationError`` with the offending field's ``loc`` before anything is written.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import transaction

from billing.catalog.payloads import ProductOutput
from billing.custom_fields.services import product_custom_fields_set
from billing.models import Benefit, Meter, Product, ProductBenefit, ProductPrice
from polar import clock
from polar.errors import PolarError, PolarRequestValidationError
from polar.webhooks.events import WebhookEventType
from polar.webhooks.services import webhook_event_emit

PRICES_LOC = ("body", "prices")


class ProductNotDeletable(PolarError):
    status_code = 409
    error = "ProductNotDeletable"


_UNSET = object()


def _invalid(loc, msg, type_="value_error"):
    return PolarRequestValidationError.single(list(loc), msg, type_)


def product_webhook_emit(product: Product, event: WebhookEventType) -> None:
    """Emit a ``product.*`` webhook carrying the product as it is now in the database (re-read, so the
    payload shows what this transaction wrote). Benefits call it when a deleted benefit leaves products."""
    product = Product.objects.get(pk=product.pk)
    webhook_event_emit(organization=product.organization, type=event, data=ProductOutput(product).data)


# --- price specs ------------------------------------------------------------


def _slot(amount_type: str, currency: str, meter_id) -> tuple:
    """The key under which only one *active* price may exist in a product."""
    if amount_type in ProductPrice.METERED_AMOUNT_TYPES:
        return ("metered", currency, str(meter_id))
    return ("static", currency)


def _price_slot(price: ProductPrice) -> tuple:
    return _slot(price.amount_type, price.price_currency, price.meter_id)


def _validate_seat_tiers(seat_tiers: dict, loc: tuple) -> dict:
    tiers = sorted(seat_tiers["tiers"], key=lambda tier: tier["min_seats"])
    if not tiers:
        raise _invalid((*loc, "tiers"), "At least one tier is required.")
    normalized = []
    for index, tier in enumerate(tiers):
        min_seats, max_seats = tier["min_seats"], tier.get("max_seats")
        price_per_seat = tier["price_per_seat"]
        tier_loc = (*loc, "tiers", index)
        if price_per_seat < 0:
            raise _invalid((*tier_loc, "price_per_seat"), "Input should be greater than or equal to 0", "greater_than_equal")
        if max_seats is not None and max_seats < min_seats:
            raise _invalid((*tier_loc, "max_seats"), "max_seats must be greater than or equal to min_seats.")
        if index == 0 and min_seats < 1:
            raise _invalid((*tier_loc, "min_seats"), "The first tier must start at 1 seat or more.")
        if index > 0:
            previous_max = normalized[-1]["max_seats"]
            if previous_max is None:
                raise _invalid((*loc, "tiers", index - 1, "max_seats"), "Only the last tier may be unbounded.")
            if min_seats != previous_max + 1:
                raise _invalid(
                    (*tier_loc, "min_seats"), "Tiers must be contiguous: min_seats must follow the previous tier's max_seats."
                )
        normalized.append({"min_seats": min_seats, "max_seats": max_seats, "price_per_seat": price_per_seat})
    return {"tiers": normalized, "seat_tier_type": seat_tiers.get("seat_tier_type") or "volume"}


def _normalize_price_spec(*, organization, spec: dict, recurring_interval, loc: tuple) -> dict:
    """Check one new price against its product and return the row's field values.

    ``free`` becomes a fixed price of 0; the price ``type`` is derived from the product, and legacy
    ``type``/``recurring_interval`` keys are accepted only when they agree with it.
    """
    amount_type = spec["amount_type"]
    is_recurring = recurring_interval is not None
    if spec.get("type") is not None:
        expected = ProductPrice.Type.RECURRING if is_recurring else ProductPrice.Type.ONE_TIME
        if spec["type"] != expected:
            msg = (
                "A recurring price cannot be added to a one-time product."
                if spec["type"] == ProductPrice.Type.RECURRING
                else "A one-time price cannot be added to a recurring product."
            )
            raise _invalid((*loc, "type"), msg)
    if spec.get("recurring_interval") is not None and spec["recurring_interval"] != recurring_interval:
        raise _invalid(
            (*loc, "recurring_interval"),
            "A recurring price cannot be added to a one-time product."
            if not is_recurring
            else "The price's recurring interval must match the product's.",
        )
    currency = (spec.get("price_currency") or "usd").lower()
    fields = {
        "price_currency": currency,
        "tax_behavior": spec.get("tax_behavior"),
        "type": ProductPrice.Type.RECURRING if is_recurring else ProductPrice.Type.ONE_TIME,
    }

    def non_negative(name, value):
        if value is not None and value < 0:
            raise _invalid((*loc, name), "Input should be greater than or equal to 0", "greater_than_equal")
        return value

    if amount_type in ("fixed", "free"):
        fields["amount_type"] = ProductPrice.AmountType.FIXED
        fields["price_amount"] = 0 if amount_type == "free" else non_negative("price_amount", spec["price_amount"])
    elif amount_type == "custom":
        minimum = non_negative("minimum_amount", spec.get("minimum_amount"))
        minimum = 50 if minimum is None else minimum
        maximum = non_negative("maximum_amount", spec.get("maximum_amount"))
        preset = non_negative("preset_amount", spec.get("preset_amount"))
        if maximum is not None and maximum < minimum:
            raise _invalid((*loc, "maximum_amount"), "maximum_amount must be greater than or equal to minimum_amount.")
        if preset is not None and (preset < minimum or (maximum is not None and preset > maximum)):
            raise _invalid((*loc, "preset_amount"), "preset_amount must be between minimum_amount and maximum_amount.")
        fields.update(
            amount_type=ProductPrice.AmountType.CUSTOM, minimum_amount=minimum, maximum_amount=maximum, preset_amount=preset
        )
    elif amount_type == "metered_unit":
        if not is_recurring:
            raise _invalid((*loc, "amount_type"), "Metered prices are only allowed on recurring products.")
        unit_amount = Decimal(spec["unit_amount"])
        if unit_amount < 0:
            raise _invalid((*loc, "unit_amount"), "Input should be greater than or equal to 0", "greater_than_equal")
        meter = Meter.objects.filter(organization=organization, pk=spec["meter_id"], archived_at__isnull=True).first()
        if meter is None:
            raise _invalid((*loc, "meter_id"), "Meter does not exist.")
        fields.update(
            amount_type=ProductPrice.AmountType.METERED_UNIT,
            unit_amount=unit_amount,
            cap_amount=non_negative("cap_amount", spec.get("cap_amount")),
            meter=meter,
        )
    elif amount_type == "metered_tiers":
        if not is_recurring:
            raise _invalid((*loc, "amount_type"), "Metered prices are only allowed on recurring products.")
        meter = Meter.objects.filter(organization=organization, pk=spec["meter_id"], archived_at__isnull=True).first()
        if meter is None:
            raise _invalid((*loc, "meter_id"), "Meter does not exist.")
        # ``tiers`` was checked by the engine's rules in the serializer (RateTiersInput).
        fields.update(
            amount_type=ProductPrice.AmountType.METERED_TIERS,
            tiers=spec["tiers"],
            cap_amount=non_negative("cap_amount", spec.get("cap_amount")),
            meter=meter,
        )
    elif amount_type == "unit_based":
        fields.update(
            amount_type=ProductPrice.AmountType.UNIT_BASED,
            tiers=spec["tiers"],
            minimum_units=spec.get("minimum_units") or 1,
            maximum_units=spec["tiers"]["tiers"][-1]["bound"],
            unit_label=spec.get("unit_label"),
        )
    elif amount_type == "seat_based":
        seat_tiers = _validate_seat_tiers(spec["seat_tiers"], (*loc, "seat_tiers"))
        fields.update(
            amount_type=ProductPrice.AmountType.SEAT_BASED,
            seat_tiers=seat_tiers["tiers"],
            seat_tier_type=seat_tiers["seat_tier_type"],
            minimum_seats=seat_tiers["tiers"][0]["min_seats"],
            maximum_seats=seat_tiers["tiers"][-1]["max_seats"],
        )
    else:
        raise _invalid((*loc, "amount_type"), f"Unsupported amount type {amount_type!r}.", "enum")
    return fields


def _check_slots_unique(entries: list[tuple[tuple, tuple]]) -> None:
    """entries: (slot, loc of the entry). Two active prices in one slot is an input error on the second."""
    seen = set()
    for slot, loc in entries:
        if slot in seen:
            if slot[0] == "metered":
                msg = "Only one metered price per meter and currency is allowed."
            else:
                msg = "Only one static price (fixed, custom, free or seat-based) per currency is allowed."
            raise _invalid((*loc, "price_currency"), msg)
        seen.add(slot)


def _validate_product_shape(*, recurring_interval, recurring_interval_count, trial_interval, trial_interval_count) -> tuple:
    if recurring_interval is None and recurring_interval_count is not None:
        raise _invalid(("body", "recurring_interval_count"), "recurring_interval_count requires recurring_interval.")
    if recurring_interval is not None and recurring_interval_count is None:
        recurring_interval_count = 1
    if trial_interval is None and trial_interval_count is not None:
        raise _invalid(("body", "trial_interval_count"), "trial_interval_count requires trial_interval.")
    if trial_interval is not None:
        if recurring_interval is None:
            raise _invalid(("body", "trial_interval"), "Trials are only available on recurring products.")
        if trial_interval_count is None:
            trial_interval_count = 1
    return recurring_interval_count, trial_interval_count


def _insert_price(*, product: Product, fields: dict, replaces: ProductPrice | None = None) -> ProductPrice:
    product_fields = {
        "recurring_interval": product.recurring_interval,
        "recurring_interval_count": product.recurring_interval_count,
    }
    return ProductPrice.objects.create(
        product=product,
        version=(replaces.version + 1) if replaces else 1,
        replaces=replaces,
        **product_fields,
        **fields,
    )


# --- services -------------------------------------------------------------


def product_create(
    *,
    organization,
    name: str,
    prices: list[dict],
    description: str | None = None,
    visibility: str = Product._meta.get_field("visibility").default,
    metadata: dict | None = None,
    recurring_interval: str | None = None,
    recurring_interval_count: int | None = None,
    trial_interval: str | None = None,
    trial_interval_count: int | None = None,
    meter_interval: str | None = None,
    meter_interval_count: int | None = None,
    attached_custom_fields: list[dict] | None = None,
) -> Product:
    """Create a product with its first price versions (version 1 each) and emit ``product.created``.

    ``prices`` are new-price dicts as the API parses them (``amount_type`` one of fixed, free, custom,
    metered_unit, seat_based, metered_tiers, unit_based). Everything is checked before the first row is written; it all commits or
    nothing does.
    """
    if not prices:
        raise _invalid(PRICES_LOC, "At least one price is required.", "too_short")
    recurring_interval_count, trial_interval_count = _validate_product_shape(
        recurring_interval=recurring_interval,
        recurring_interval_count=recurring_interval_count,
        trial_interval=trial_interval,
        trial_interval_count=trial_interval_count,
    )
    normalized = [
        _normalize_price_spec(organization=organization, spec=spec, recurring_interval=recurring_interval, loc=(*PRICES_LOC, i))
        for i, spec in enumerate(prices)
    ]
    _check_slots_unique(
        [
            (_slot(f["amount_type"], f["price_currency"], f.get("meter").pk if f.get("meter") else None), (*PRICES_LOC, i))
            for i, f in enumerate(normalized)
        ]
    )
    with transaction.atomic():
        product = Product.objects.create(
            organization=organization,
            name=name,
            description=description or None,
            visibility=visibility,
            metadata=metadata or {},
            recurring_interval=recurring_interval,
            recurring_interval_count=recurring_interval_count,
            trial_interval=trial_interval,
            trial_interval_count=trial_interval_count,
            meter_interval=meter_interval if recurring_interval else None,
            meter_interval_count=meter_interval_count if (recurring_interval and meter_interval) else None,
        )
        for fields in normalized:
            _insert_price(product=product, fields=fields)
        if attached_custom_fields:
            product_custom_fields_set(product=product, attached=attached_custom_fields)
        product_webhook_emit(product, WebhookEventType.PRODUCT_CREATED)
    return product


def _latest_in_slot(product: Product, slot: tuple) -> ProductPrice | None:
    candidates = [price for price in product.all_prices.all() if _price_slot(price) == slot]
    return max(candidates, key=lambda price: (price.version, price.created_at), default=None)


def product_update(
    *,
    product: Product,
    name=_UNSET,
    description=_UNSET,
    visibility=_UNSET,
    metadata=_UNSET,
    is_archived=_UNSET,
    recurring_interval=_UNSET,
    recurring_interval_count=_UNSET,
    trial_interval=_UNSET,
    trial_interval_count=_UNSET,
    meter_interval=_UNSET,
    meter_interval_count=_UNSET,
    prices=_UNSET,
    attached_custom_fields=_UNSET,
) -> Product:
    """Change a product; only the arguments given change. Emits ``product.updated``.

    ``prices`` (when given) is the complete list of the product's active prices afterwards: ``{"id": ...}``
    keeps an active price as it is, a new-price dict creates a version. Active prices left out are
    archived (never edited or deleted). A new price in the slot (currency, and meter for metered prices)
    of an older one records it in ``replaces`` with the next ``version``. Changing the billing interval
    re-versions every kept price, since a price's interval is part of what a customer buys.

    Locks the product row for the whole change, so two concurrent updates apply one after the other.
    """
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        organization = product.organization

        new_interval = product.recurring_interval if recurring_interval is _UNSET else recurring_interval
        new_interval_count = product.recurring_interval_count if recurring_interval_count is _UNSET else recurring_interval_count
        if recurring_interval is not _UNSET and (recurring_interval is None) != (product.recurring_interval is None):
            raise _invalid(
                ("body", "recurring_interval"),
                "A one-time product cannot become recurring, nor a recurring product one-time; create a new product.",
            )
        if recurring_interval is not _UNSET and recurring_interval_count is _UNSET and new_interval != product.recurring_interval:
            new_interval_count = product.recurring_interval_count
        new_trial = product.trial_interval if trial_interval is _UNSET else trial_interval
        new_trial_count = product.trial_interval_count if trial_interval_count is _UNSET else trial_interval_count
        if trial_interval is not _UNSET and trial_interval is None and trial_interval_count is _UNSET:
            new_trial_count = None
        new_interval_count, new_trial_count = _validate_product_shape(
            recurring_interval=new_interval,
            recurring_interval_count=new_interval_count,
            trial_interval=new_trial,
            trial_interval_count=new_trial_count,
        )
        interval_changed = (new_interval, new_interval_count) != (product.recurring_interval, product.recurring_interval_count)

        active = {price.pk: price for price in product.all_prices.filter(is_archived=False).select_for_update().order_by("pk")}
        kept: list[ProductPrice] = []
        new_specs: list[tuple[int, dict]] = []
        if prices is _UNSET:
            kept = list(active.values())
        else:
            seen_ids = set()
            for index, entry in enumerate(prices):
                if "id" in entry and "amount_type" not in entry:
                    price = active.get(uuid.UUID(str(entry["id"])))
                    if price is None or price.pk in seen_ids:
                        raise _invalid((*PRICES_LOC, index, "id"), "Price does not exist or is archived.")
                    seen_ids.add(price.pk)
                    kept.append(price)
                else:
                    loc = (*PRICES_LOC, index)
                    new_specs.append(
                        (
                            index,
                            _normalize_price_spec(
                                organization=organization, spec=entry, recurring_interval=new_interval, loc=loc
                            ),
                        )
                    )
            if not kept and not new_specs:
                raise _invalid(PRICES_LOC, "At least one price is required.", "too_short")
        slot_entries = [(_price_slot(price), PRICES_LOC) for price in kept]
        slot_entries += [
            (_slot(f["amount_type"], f["price_currency"], f["meter"].pk if f.get("meter") else None), (*PRICES_LOC, i))
            for i, f in new_specs
        ]
        _check_slots_unique(slot_entries)

        now = clock.now()
        changed_fields = []
        for attribute, value in (
            ("name", name),
            ("description", description),
            ("visibility", visibility),
            ("metadata", metadata),
            ("meter_interval", meter_interval),
            ("meter_interval_count", meter_interval_count),
        ):
            if value is not _UNSET:
                if attribute == "description":
                    value = value or None
                if attribute == "metadata":
                    value = value or {}
                setattr(product, attribute, value)
                changed_fields.append(attribute)
        product.recurring_interval, product.recurring_interval_count = new_interval, new_interval_count
        product.trial_interval, product.trial_interval_count = new_trial, new_trial_count
        changed_fields += ["recurring_interval", "recurring_interval_count", "trial_interval", "trial_interval_count"]
        if is_archived is not _UNSET and is_archived != product.is_archived:
            product.is_archived = is_archived
            product.archived_at = now if is_archived else None
            changed_fields += ["is_archived", "archived_at"]
        product.modified_at = now
        product.save(update_fields=[*changed_fields, "modified_at"])

        # Archive first: the partial unique indexes allow one active price per slot.
        kept_ids = {price.pk for price in kept}
        to_archive = [price for pk, price in active.items() if pk not in kept_ids]
        requeue = []
        if interval_changed:
            # Kept prices carry the old interval: replace each with an identical version at the new one.
            to_archive += kept
            # Same display order as before (prices render by creation time).
            requeue = sorted(kept, key=lambda price: (price.created_at, str(price.pk)))
        for price in to_archive:
            price.is_archived = True
            price.archived_at = now
            price.modified_at = now
            price.save(update_fields=["is_archived", "archived_at", "modified_at"])
        for old in requeue:
            fields = {
                name_: getattr(old, name_)
                for name_ in (
                    "amount_type",
                    "price_currency",
                    "source",
                    "tax_behavior",
                    "price_amount",
                    "minimum_amount",
                    "maximum_amount",
                    "preset_amount",
                    "unit_amount",
                    "cap_amount",
                    "meter",
                    "seat_tiers",
                    "seat_tier_type",
                    "minimum_seats",
                    "maximum_seats",
                    "tiers",
                    "minimum_units",
                    "maximum_units",
                    "unit_label",
                )
            }
            _insert_price(product=product, fields={**fields, "type": ProductPrice.Type.RECURRING}, replaces=old)
        for _index, fields in new_specs:
            slot = _slot(fields["amount_type"], fields["price_currency"], fields["meter"].pk if fields.get("meter") else None)
            _insert_price(product=product, fields=fields, replaces=_latest_in_slot(product, slot))
        if attached_custom_fields is not _UNSET:
            product_custom_fields_set(product=product, attached=attached_custom_fields or [])
        product_webhook_emit(product, WebhookEventType.PRODUCT_UPDATED)
    return product


def product_benefits_set(*, product: Product, benefits: list) -> Product:
    """Make ``benefits`` (ids, in display order) the product's benefits. Emits ``product.updated``.

    Benefits must belong to the product's organization and not be deleted (else 422 on
    ``benefits[i]``). Existing grants are not touched here: subscriptions sync grants through
    ``benefit_grants_sync_for``. Locks the product row.
    """
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        wanted: list[Benefit] = []
        by_id = {
            benefit.pk: benefit
            for benefit in Benefit.objects.filter(
                organization_id=product.organization_id, pk__in=benefits, deleted_at__isnull=True
            )
        }
        for index, benefit_id in enumerate(benefits):
            benefit = by_id.get(uuid.UUID(str(benefit_id)))
            if benefit is None:
                raise _invalid(("body", "benefits", index), "Benefit does not exist.")
            if benefit not in wanted:
                wanted.append(benefit)
        links = {link.benefit_id: link for link in product.product_benefits.all()}
        for benefit_id, link in links.items():
            if benefit_id not in by_id or by_id[benefit_id] not in wanted:
                link.delete()
        for order, benefit in enumerate(wanted):
            link = links.get(benefit.pk)
            if link is None:
                ProductBenefit.objects.create(product=product, benefit=benefit, order=order)
            elif link.order != order:
                link.order = order
                link.modified_at = clock.now()
                link.save(update_fields=["order", "modified_at"])
        product.modified_at = clock.now()
        product.save(update_fields=["modified_at"])
        product_webhook_emit(product, WebhookEventType.PRODUCT_UPDATED)
    return product


def product_delete(*, product: Product) -> None:
    """Delete a product nothing refers to (Polar's rule: no orders, subscriptions, checkouts or discounts);
    a product in use raises ``ProductNotDeletable`` (409) and should be archived instead.

    Locks the product row; the price versions and benefit links go with it (newest version first, since
    each version protects the one it replaced).
    """
    from billing.catalog.selectors import product_is_deletable

    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        if not product_is_deletable(product=product):
            raise ProductNotDeletable("Product is in use and cannot be deleted; archive it instead.")
        for price in product.all_prices.order_by("-version", "-created_at"):
            price.delete()
        for link in product.product_benefits.all():
            link.delete()
        product.delete()
