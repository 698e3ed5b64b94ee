"""Discounts, the products they are restricted to, and their redemptions."""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from polar.models import OrganizationOwnedModel, TimestampedModel
from polar.money import format_amount


class Discount(OrganizationOwnedModel):
    """A percentage (``basis_points``) or fixed (an amount per currency, in ``DiscountAmount``) discount.

    ``redemptions_count`` is a counter written only by ``discount_redeem`` while it holds this row's
    lock, so it always equals the number of ``DiscountRedemption`` rows and never exceeds
    ``max_redemptions``. Deletion is soft: redemptions keep pointing at the discount.
    """

    class Type(models.TextChoices):
        FIXED = "fixed"
        PERCENTAGE = "percentage"

    class Duration(models.TextChoices):
        ONCE = "once"
        FOREVER = "forever"
        REPEATING = "repeating"

    name = models.CharField(max_length=256)
    type = models.CharField(max_length=16, choices=Type.choices)
    # percentage: 10000 basis points = 100 %.
    basis_points = models.PositiveIntegerField(null=True, blank=True)
    duration = models.CharField(max_length=16, choices=Duration.choices)
    duration_in_months = models.PositiveIntegerField(null=True, blank=True)
    # Optional code customers type at checkout; unique per organization ignoring case.
    code = models.CharField(max_length=256, null=True, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    max_redemptions_per_customer = models.PositiveIntegerField(null=True, blank=True)
    redemptions_count = models.PositiveIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True)
    products = models.ManyToManyField("billing.Product", through="billing.DiscountProduct", related_name="discounts")
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                "organization",
                Lower("code"),
                condition=Q(deleted_at__isnull=True, code__isnull=False),
                name="discount_code_unique_per_organization",
            ),
            models.CheckConstraint(
                condition=~Q(type="percentage") | Q(basis_points__gte=1, basis_points__lte=10000),
                name="discount_percentage_has_basis_points",
            ),
            models.CheckConstraint(
                condition=~Q(duration="repeating") | Q(duration_in_months__gte=1),
                name="discount_repeating_has_months",
            ),
            # The counter can never pass the limit, whatever a buggy caller does.
            models.CheckConstraint(
                condition=Q(max_redemptions__isnull=True) | Q(redemptions_count__lte=models.F("max_redemptions")),
                name="discount_redemptions_within_limit",
            ),
        ]

    def __str__(self):
        if self.type == self.Type.PERCENTAGE and self.basis_points is not None:
            off = f"{self.basis_points / 100:g} % off"
        else:
            off = "fixed amount off"
        duration = f"{self.duration_in_months} months" if self.duration == self.Duration.REPEATING else self.duration
        code = f" (code {self.code})" if self.code else ""
        return f"{self.name}{code} — {off}, {duration}"


class DiscountAmount(TimestampedModel):
    """The amount off of a fixed discount in one currency."""

    discount = models.ForeignKey(Discount, on_delete=models.CASCADE, related_name="amounts")
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField()

    class Meta:
        ordering = ["created_at", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["discount", "currency"], name="discount_amount_unique_currency"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="discount_amount_positive"),
        ]

    def __str__(self):
        return f"{format_amount(self.amount, self.currency)} off"


class DiscountProduct(TimestampedModel):
    """Restricts a discount to a product. A discount with no rows applies to every product."""

    discount = models.ForeignKey(Discount, on_delete=models.CASCADE, related_name="discount_products")
    product = models.ForeignKey("billing.Product", on_delete=models.CASCADE, related_name="discount_products")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["discount", "product"], name="discount_product_unique")]

    def __str__(self):
        return self.product.name


class DiscountRedemption(TimestampedModel):
    """One use of a discount, by a customer, through a checkout/subscription/order (ids while those
    models live in other modules). Counted per customer for ``max_redemptions_per_customer``."""

    discount = models.ForeignKey(Discount, on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, null=True, blank=True, related_name="discount_redemptions"
    )
    checkout_id = models.UUIDField(null=True, blank=True)
    subscription_id = models.UUIDField(null=True, blank=True)
    order_id = models.UUIDField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["discount", "customer"])]
        constraints = [
            # A retried checkout confirmation must not redeem twice.
            models.UniqueConstraint(
                fields=["discount", "checkout_id"],
                condition=Q(checkout_id__isnull=False),
                name="discount_redemption_once_per_checkout",
            ),
        ]

    def __str__(self):
        return f"{self.discount.name} redeemed by {self.customer or 'a guest'}"
