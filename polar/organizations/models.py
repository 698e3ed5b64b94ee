import hashlib
import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from polar import clock
from polar.models import TimestampedModel

TOKEN_PREFIX = "polar_oat_"


class Organization(TimestampedModel):
    """A merchant: the tenant of every API call made with one of its tokens."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REVIEW = "review", "Under review"
        # A denied organization's tokens stop working; its data is kept.
        DENIED = "denied", "Denied"

    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=100, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    email = models.EmailField(blank=True, default="")
    website = models.URLField(blank=True, default="")
    # Currency shown to buyers by default, and the proration rule applied when a merchant's API call names none.
    default_presentment_currency = models.CharField(max_length=3, default="usd")
    proration_behavior = models.CharField(
        max_length=16,
        choices=[("invoice", "invoice"), ("prorate", "prorate"), ("next_period", "next_period")],
        default="prorate",
    )
    allow_customer_updates = models.BooleanField(default=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return self.slug

    def can_use_api(self) -> bool:
        return self.status != self.Status.DENIED


class OrganizationMember(TimestampedModel):
    """A staff/merchant user of an organization; receives operational emails (disabled webhooks...)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organization_memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="organization_member_unique")]


class Scope(models.TextChoices):
    """Token scopes, with Polar's names. A token with no scope listed has none."""

    ORGANIZATIONS_READ = "organizations:read"
    ORGANIZATIONS_WRITE = "organizations:write"
    PRODUCTS_READ = "products:read"
    PRODUCTS_WRITE = "products:write"
    BENEFITS_READ = "benefits:read"
    BENEFITS_WRITE = "benefits:write"
    DISCOUNTS_READ = "discounts:read"
    DISCOUNTS_WRITE = "discounts:write"
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    CUSTOMER_SESSIONS_WRITE = "customer_sessions:write"
    CHECKOUTS_READ = "checkouts:read"
    CHECKOUTS_WRITE = "checkouts:write"
    CHECKOUT_LINKS_READ = "checkout_links:read"
    CHECKOUT_LINKS_WRITE = "checkout_links:write"
    CUSTOM_FIELDS_READ = "custom_fields:read"
    CUSTOM_FIELDS_WRITE = "custom_fields:write"
    SUBSCRIPTIONS_READ = "subscriptions:read"
    SUBSCRIPTIONS_WRITE = "subscriptions:write"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    PAYMENTS_READ = "payments:read"
    REFUNDS_READ = "refunds:read"
    REFUNDS_WRITE = "refunds:write"
    TRANSACTIONS_READ = "transactions:read"
    TRANSACTIONS_WRITE = "transactions:write"
    PAYOUTS_READ = "payouts:read"
    PAYOUTS_WRITE = "payouts:write"
    DISPUTES_READ = "disputes:read"
    DISPUTES_WRITE = "disputes:write"
    EVENTS_READ = "events:read"
    EVENTS_WRITE = "events:write"
    METERS_READ = "meters:read"
    METERS_WRITE = "meters:write"
    CUSTOMER_METERS_READ = "customer_meters:read"
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_WRITE = "webhooks:write"
    METRICS_READ = "metrics:read"
    METRICS_WRITE = "metrics:write"
    LICENSE_KEYS_READ = "license_keys:read"
    LICENSE_KEYS_WRITE = "license_keys:write"
    MEMBERS_READ = "members:read"
    MEMBERS_WRITE = "members:write"
    CUSTOMER_SEATS_READ = "customer_seats:read"
    CUSTOMER_SEATS_WRITE = "customer_seats:write"


ALL_SCOPES = [choice.value for choice in Scope]


def hash_token(raw_token: str) -> str:
    # Tokens are 256-bit random strings: a fast hash is enough (no dictionary to guard against).
    return hashlib.sha256(raw_token.encode()).hexdigest()


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class OrganizationAccessToken(TimestampedModel):
    """An organization access token. Only its SHA-256 is stored; the token is shown once, at creation."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="access_tokens")
    comment = models.CharField(max_length=255, blank=True, default="")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters after the prefix, to tell tokens apart in lists and audit logs.
    token_hint = models.CharField(max_length=24, editable=False)
    scopes = ArrayField(models.CharField(max_length=64, choices=Scope.choices), default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.token_hint}… ({self.organization.slug})"

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, at=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (at or clock.now())

    def is_usable(self, at=None) -> bool:
        return not self.is_revoked() and not self.is_expired(at)
