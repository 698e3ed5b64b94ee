"""Products and their prices.

A price row is an immutable *version*: once created, only ``is_archived``/``archived_at`` ever change.
Changing what a product costs archives the old rows and creates new ones (``replaces`` links a new
version to the row it superseded), so subscriptions and orders keep pointing at exactly what they bought.
"""

from django.db import models
from django.db.models import Q

from polar.models import OrganizationOwnedModel, TimestampedModel
from polar.money import format_amount

_INTERVAL_WORDS = {"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly"}


class RecurringInterval(models.TextChoices):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class ProductVisibility(models.TextChoices):
    DRAFT = "draft"
    PRIVATE = "private"
    PUBLIC = "public"


class Product(OrganizationOwnedModel):
    """Something a merchant sells once (``recurring_interval`` null) or by subscription."""

    name = models.CharField(max_length=256)
    description = models.TextField(null=True, blank=True)
    visibility = models.CharField(max_length=16, choices=ProductVisibility.choices, default=ProductVisibility.PUBLIC)
    # Null for one-time products. A recurring product bills every ``recurring_interval_count`` intervals.
    recurring_interval = models.CharField(max_length=8, choices=RecurringInterval.choices, null=True, blank=True)
    recurring_interval_count = models.PositiveIntegerField(null=True, blank=True)
    trial_interval = models.CharField(max_length=8, choices=RecurringInterval.choices, null=True, blank=True)
    trial_interval_count = models.PositiveIntegerField(null=True, blank=True)
    # Polar's separate metering cadence; kept so the wire keys exist. Null means "same as the billing interval".
    meter_interval = models.CharField(max_length=8, choices=RecurringInterval.choices, null=True, blank=True)
    meter_interval_count = models.PositiveIntegerField(null=True, blank=True)
    is_archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    benefits = models.ManyToManyField("billing.Benefit", through="billing.ProductBenefit", related_name="products")

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"])]
        constraints = [
            # Interval and count come together: both set (recurring) or both null (one-time).
            models.CheckConstraint(
                condition=Q(recurring_interval__isnull=True, recurring_interval_count__isnull=True)
                | Q(recurring_interval__isnull=False, recurring_interval_count__gte=1),
                name="product_recurring_interval_with_count",
            ),
            models.CheckConstraint(
                condition=Q(trial_interval__isnull=True, trial_interval_count__isnull=True)
                | Q(trial_interval__isnull=False, trial_interval_count__gte=1),
                name="product_trial_interval_with_count",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_recurring(self) -> bool:
        return self.recurring_interval is not None


class ProductPrice(TimestampedModel):
    """One immutable version of one price of a product.

    Invariants (services enforce them; the partial unique indexes below are the last line of defence):
    - among the *active* prices of a product there is at most one static price (fixed, custom,
      seat_based) per currency, and at most one metered price per (meter, currency);
    - amounts are non-negative integers of minor units; ``unit_amount`` (metered) is a Decimal of
      minor units (cents), possibly fractional, rendered as a string;
    - ``type``/``recurring_interval`` are a snapshot of the product at the time of the version, so a
      subscription reading its price never needs the product's current state.
    """

    class AmountType(models.TextChoices):
        FIXED = "fixed"
        CUSTOM = "custom"
        METERED_UNIT = "metered_unit"
        SEAT_BASED = "seat_based"
        METERED_TIERS = "metered_tiers"
        UNIT_BASED = "unit_based"

    class Type(models.TextChoices):
        ONE_TIME = "one_time"
        RECURRING = "recurring"

    class Source(models.TextChoices):
        CATALOG = "catalog"
        AD_HOC = "ad_hoc"

    class TaxBehavior(models.TextChoices):
        LOCATION = "location"
        INCLUSIVE = "inclusive"
        EXCLUSIVE = "exclusive"

    class SeatTierType(models.TextChoices):
        VOLUME = "volume"
        GRADUATED = "graduated"

    STATIC_AMOUNT_TYPES = (AmountType.FIXED, AmountType.CUSTOM, AmountType.SEAT_BASED, AmountType.UNIT_BASED)
    METERED_AMOUNT_TYPES = (AmountType.METERED_UNIT, AmountType.METERED_TIERS)

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="all_prices")
    amount_type = models.CharField(max_length=16, choices=AmountType.choices)
    type = models.CharField(max_length=16, choices=Type.choices)
    recurring_interval = models.CharField(max_length=8, choices=RecurringInterval.choices, null=True, blank=True)
    recurring_interval_count = models.PositiveIntegerField(null=True, blank=True)
    price_currency = models.CharField(max_length=3)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.CATALOG)
    tax_behavior = models.CharField(max_length=16, choices=TaxBehavior.choices, null=True, blank=True)

    # fixed (a free price is a fixed price of 0)
    price_amount = models.BigIntegerField(null=True, blank=True)
    # custom (pay what you want)
    minimum_amount = models.BigIntegerField(null=True, blank=True)
    maximum_amount = models.BigIntegerField(null=True, blank=True)
    preset_amount = models.BigIntegerField(null=True, blank=True)
    # metered_unit: price of one unit in minor units (may be fractional), optional cap per period
    unit_amount = models.DecimalField(max_digits=24, decimal_places=12, null=True, blank=True)
    cap_amount = models.BigIntegerField(null=True, blank=True)
    meter = models.ForeignKey("billing.Meter", on_delete=models.PROTECT, null=True, blank=True, related_name="prices")
    # seat_based: {"tiers": [{"min_seats", "max_seats"|null, "price_per_seat"}], "seat_tier_type"}
    seat_tiers = models.JSONField(null=True, blank=True)
    seat_tier_type = models.CharField(max_length=16, choices=SeatTierType.choices, null=True, blank=True)
    minimum_seats = models.PositiveIntegerField(null=True, blank=True)
    maximum_seats = models.PositiveIntegerField(null=True, blank=True)
    # metered_tiers and unit_based: Polar's ``Tiers`` ``{"type": "graduated"|"volume", "tiers": [{"bound":
    # int|null, "unit_amount": "decimal string"}]}`` (validated by billing.pricing.tiers.Tiers; the
    # metered price reuses ``cap_amount`` and ``meter``). unit_based: the purchasable quantity and nouns.
    tiers = models.JSONField(null=True, blank=True)
    minimum_units = models.PositiveIntegerField(null=True, blank=True)
    maximum_units = models.PositiveIntegerField(null=True, blank=True)
    unit_label = models.JSONField(null=True, blank=True)

    # Versioning: the only mutable fields are these two.
    is_archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    # 1 for the first version of a (product, slot); the next version replacing it gets version + 1.
    version = models.PositiveIntegerField(default=1)
    replaces = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by")

    class Meta:
        indexes = [models.Index(fields=["product", "is_archived"])]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "price_currency"],
                condition=Q(is_archived=False) & ~Q(amount_type__in=["metered_unit", "metered_tiers"]),
                name="product_price_one_active_static_per_currency",
            ),
            models.UniqueConstraint(
                fields=["product", "price_currency", "meter"],
                condition=Q(is_archived=False, amount_type__in=["metered_unit", "metered_tiers"]),
                name="product_price_one_active_metered_per_meter_currency",
            ),
            models.CheckConstraint(
                condition=Q(price_amount__isnull=True) | Q(price_amount__gte=0), name="product_price_amount_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(minimum_amount__isnull=True) | Q(minimum_amount__gte=0),
                name="product_price_minimum_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(unit_amount__isnull=True) | Q(unit_amount__gte=0), name="product_price_unit_non_negative"
            ),
            models.CheckConstraint(
                condition=~Q(amount_type="metered_unit") | Q(meter__isnull=False, unit_amount__isnull=False),
                name="product_price_metered_has_meter",
            ),
            models.CheckConstraint(
                condition=~Q(amount_type="metered_tiers") | Q(meter__isnull=False, tiers__isnull=False),
                name="product_price_metered_tiers_has_meter_and_tiers",
            ),
            models.CheckConstraint(
                condition=~Q(amount_type="unit_based") | Q(tiers__isnull=False), name="product_price_unit_based_has_tiers"
            ),
            models.CheckConstraint(
                condition=~Q(amount_type="fixed") | Q(price_amount__isnull=False), name="product_price_fixed_has_amount"
            ),
        ]

    def __str__(self):
        return f"{self.label()} (v{self.version})"

    def label(self, amount: int | None = None) -> str:
        """A price as staff read it: "Pro plan — monthly, $50.00" or "API — per unit of API calls, 0.1 USD
        minor units" (``amount``: what a pay-what-you-want price was bought at). Reads ``product`` (and
        ``meter`` for a metered price): select them with the price in lists."""
        interval = self.recurring_interval or self.product.recurring_interval
        cadence = _INTERVAL_WORDS.get(interval, interval) if interval else "one-time"
        currency = self.price_currency
        if self.amount_type == self.AmountType.METERED_UNIT:
            meter = self.meter.name if self.meter_id else "usage"
            unit = f"{self.unit_amount.normalize():f}" if self.unit_amount is not None else "?"
            what = f"per unit of {meter}, {unit} {currency.upper()} minor units"
        elif self.amount_type in (self.AmountType.METERED_TIERS, self.AmountType.UNIT_BASED):
            tiers = self.tiers or {}
            per = (
                f"{self.meter.name if self.meter_id else 'usage'}"
                if self.amount_type == self.AmountType.METERED_TIERS
                else "unit"
            )
            what = f"{tiers.get('type', '?')} tiers per {per}, {len(tiers.get('tiers') or ())} tiers"
        elif amount is not None:
            what = format_amount(amount, currency)
        elif self.price_amount is not None:
            what = format_amount(self.price_amount, currency)
        elif self.minimum_amount is not None:
            what = f"pay what you want, from {format_amount(self.minimum_amount, currency)}"
        else:
            what = self.amount_type
        return f"{self.product.name} — {cadence}, {what}"

    @property
    def is_static(self) -> bool:
        return self.amount_type not in self.METERED_AMOUNT_TYPES

    @property
    def is_metered(self) -> bool:
        return self.amount_type in self.METERED_AMOUNT_TYPES

    def unit_noun(self, quantity: int, locale: str = "en") -> str:
        """The unit word for ``quantity`` from ``unit_label`` (``{"en": {"=1": "device", "other":
        "devices"}}``: an exact ``=n`` form wins, else ``other``); "unit"/"units" when unset."""
        forms = (self.unit_label or {}).get(locale) or (self.unit_label or {}).get("en") or {}
        return forms.get(f"={quantity}") or forms.get("other") or ("unit" if quantity == 1 else "units")


class ProductBenefit(TimestampedModel):
    """A benefit attached to a product, in display ``order``."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="product_benefits")
    benefit = models.ForeignKey("billing.Benefit", on_delete=models.PROTECT, related_name="product_benefits")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "created_at"]
        constraints = [models.UniqueConstraint(fields=["product", "benefit"], name="product_benefit_unique")]

    def __str__(self):
        return f"{self.product.name}: {self.benefit.description}"
