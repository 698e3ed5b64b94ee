"""Checkout links: shareable links that open a fresh checkout session each time a buyer follows them."""

import secrets

from django.db import models
from django.db.models import Q

from polar.models import OrganizationOwnedModel, TimestampedModel


def checkout_link_client_secret() -> str:
    # The client secret is the public part of the link's URL: unguessable, and prefixed as Polar's are.
    return "polar_cl_" + secrets.token_urlsafe(32)


class CheckoutLink(OrganizationOwnedModel):
    """A reusable link to buy one of ``products`` (in order, through ``CheckoutLinkProduct``).

    Following ``/v1/checkout-links/{client_secret}/redirect`` opens a new checkout session with the
    link's settings and sends the buyer to its hosted page. ``discount`` is applied when it still
    applies at that moment (otherwise ignored, as on Polar); ``seats`` locks the seat count when the
    selected product still accepts it. Deleting a link is soft (``deleted_at``): its URL stops working,
    checkouts already opened from it are untouched.
    """

    client_secret = models.CharField(max_length=128, unique=True, default=checkout_link_client_secret)
    payment_processor = models.CharField(max_length=16, default="stripe")
    label = models.CharField(max_length=256, null=True, blank=True)
    success_url = models.CharField(max_length=2048, null=True, blank=True)
    return_url = models.CharField(max_length=2048, null=True, blank=True)
    allow_discount_codes = models.BooleanField(default=True)
    require_billing_address = models.BooleanField(default=False)
    discount = models.ForeignKey("billing.Discount", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    seats = models.PositiveIntegerField(null=True, blank=True)
    units = models.PositiveIntegerField(null=True, blank=True)
    trial_interval = models.CharField(max_length=8, null=True, blank=True)
    trial_interval_count = models.PositiveIntegerField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "created_at"], condition=Q(deleted_at__isnull=True), name="checkout_link_live")
        ]

    def __str__(self):
        return self.label or f"Checkout link {self.id}"


class CheckoutLinkProduct(TimestampedModel):
    checkout_link = models.ForeignKey(CheckoutLink, on_delete=models.CASCADE, related_name="link_products")
    product = models.ForeignKey("billing.Product", on_delete=models.PROTECT, related_name="+")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order"]
        constraints = [models.UniqueConstraint(fields=["checkout_link", "product"], name="checkout_link_product_unique")]

    def __str__(self):
        return f"{self.checkout_link_id} #{self.order}"
