"""Checkout sessions: what a buyer is about to buy, confirmed on the hosted page or through the API."""

import secrets

from django.db import models

from polar.models import OrganizationOwnedModel, TimestampedModel


def checkout_client_secret() -> str:
    # The client secret is the credential of the hosted page and of client_confirm: unguessable.
    return "polar_c_" + secrets.token_urlsafe(32)


class Checkout(OrganizationOwnedModel):
    """A checkout session.

    ``products`` are the offered products (in order, through ``CheckoutProduct``); ``product`` /
    ``product_price`` the one currently selected (the first by default). Amounts are a preview
    computed when the session is created or the selection changes; the order created on
    confirmation is priced again from the price versions, never from these figures.

    ``status``: open → confirmed (a confirmation is being processed; a concurrent one is refused) →
    succeeded, or failed when the card or the first charge is declined (the session stays usable: a
    failed checkout can be confirmed again with another card); past ``expires_at`` it reads expired. ``subscription`` / ``order`` are what confirmation created.
    """

    class Status(models.TextChoices):
        OPEN = "open"
        EXPIRED = "expired"
        CONFIRMED = "confirmed"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    client_secret = models.CharField(max_length=128, unique=True, default=checkout_client_secret)
    expires_at = models.DateTimeField()
    success_url = models.CharField(max_length=2048, null=True, blank=True)
    return_url = models.CharField(max_length=2048, null=True, blank=True)
    embed_origin = models.CharField(max_length=512, null=True, blank=True)

    products = models.ManyToManyField("billing.Product", through="billing.CheckoutProduct", related_name="+")
    product = models.ForeignKey("billing.Product", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    product_price = models.ForeignKey("billing.ProductPrice", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    currency = models.CharField(max_length=3, default="usd")
    # Preview figures (minor units) for the selected price, discount and tax.
    amount = models.BigIntegerField(default=0)
    discount_amount = models.BigIntegerField(default=0)
    net_amount = models.BigIntegerField(default=0)
    tax_amount = models.BigIntegerField(null=True, blank=True)
    total_amount = models.BigIntegerField(default=0)
    seats = models.PositiveIntegerField(null=True, blank=True)
    # The quantity bought of a unit_based price (null for any other price).
    units = models.PositiveIntegerField(null=True, blank=True)

    discount = models.ForeignKey("billing.Discount", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    allow_discount_codes = models.BooleanField(default=True)
    allow_trial = models.BooleanField(null=True, default=True)
    trial_interval = models.CharField(max_length=8, null=True, blank=True)
    trial_interval_count = models.PositiveIntegerField(null=True, blank=True)
    require_billing_address = models.BooleanField(default=False)
    is_business_customer = models.BooleanField(default=False)

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, null=True, blank=True, related_name="checkouts")
    external_customer_id = models.CharField(max_length=256, null=True, blank=True)
    customer_email = models.CharField(max_length=320, null=True, blank=True)
    customer_name = models.CharField(max_length=256, null=True, blank=True)
    customer_ip_address = models.CharField(max_length=64, null=True, blank=True)
    customer_billing_name = models.CharField(max_length=256, null=True, blank=True)
    customer_billing_address = models.JSONField(null=True, blank=True)
    customer_tax_id = models.CharField(max_length=64, null=True, blank=True)
    customer_metadata = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # Answers to the product's custom fields (slug -> value), validated by billing.custom_fields.services;
    # copied to the order and subscription the checkout creates.
    custom_field_data = models.JSONField(default=dict, db_default={}, blank=True)
    locale = models.CharField(max_length=16, null=True, blank=True)

    subscription = models.ForeignKey("billing.Subscription", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    order = models.ForeignKey("billing.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"])]

    def __str__(self):
        # Reads product: select it with the checkout in lists.
        what = self.product.name if self.product_id else "no product yet"
        return f"Checkout for {what} ({self.status})"

    def is_open(self, now) -> bool:
        return self.status in (self.Status.OPEN, self.Status.FAILED, self.Status.CONFIRMED) and now < self.expires_at


class CheckoutProduct(TimestampedModel):
    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="checkout_products")
    product = models.ForeignKey("billing.Product", on_delete=models.PROTECT, related_name="+")
    order = models.PositiveIntegerField(default=0)

    def __str__(self):
        return self.product.name

    class Meta:
        ordering = ["order"]
        constraints = [models.UniqueConstraint(fields=["checkout", "product"], name="checkout_product_unique")]
