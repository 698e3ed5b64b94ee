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
    # Risk controls, set by staff from the back office (polar.organizations.staff; docs/back-office.md).
    # While blocked, no new checkout can be opened (API, checkout links, hosted pages); open ones finish.
    checkouts_blocked = models.BooleanField(default=False, db_default=False)
    checkouts_blocked_reason = models.CharField(max_length=255, blank=True, default="", db_default="")
    # Four-eyes: a staff refund or payout above this many minor units (in the money's own currency) waits
    # for a second staff member's approval (billing.approvals).
    four_eyes_threshold = models.BigIntegerField(default=50_000, db_default=50_000)
    # This organization's own API rate limits, {scope: "N/period" or "off"}, replacing settings.RATE_LIMITS for
    # its tokens' counters (scopes in ORGANIZATION_RATE_LIMIT_SCOPES); empty: the settings apply. Staff set it
    # with ``manage.py organization_rate_limits`` (services.organization_rate_limits_set validates it).
    rate_limits = models.JSONField(default=dict, db_default=models.Value({}, output_field=models.JSONField()), blank=True)

    class Meta:
        ordering = ["created_at"]
        # Staff permissions (docs/back-office.md). ``access_organization`` is granted per organization with
        # django-guardian (which merchants a staff member may see and act on); the others are what a role
        # may do, given to the Support, Risk and Finance groups as model permissions.
        permissions = [
            ("access_organization", "May see and act on this merchant"),
            ("refund_orders", "May refund orders (four-eyes above the threshold)"),
            ("approve_four_eyes", "May approve another staff member's refund or payout"),
            ("request_payouts", "May pay out a merchant's balance (four-eyes above the threshold)"),
            ("freeze_payouts", "May freeze and unfreeze a merchant's payouts"),
            ("hold_payouts", "May hold and release a single payout"),
            ("block_checkouts", "May block and unblock a merchant's new checkouts"),
            ("record_dispute_evidence", "May record evidence on a dispute"),
            ("assign_staff", "May grant and revoke staff access to merchants"),
        ]

    def __str__(self):
        return self.slug

    def can_use_api(self) -> bool:
        return self.status != self.Status.DENIED


# The per-token counters of polar.api.throttling; the per-address ones are no single organization's.
ORGANIZATION_RATE_LIMIT_SCOPES = ("token", "ingest", "ingest_events", "license_keys")


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
