"""Benefits, their grants to customers, and license keys (the one benefit that issues a credential)."""

from django.db import models
from django.db.models import Q

from polar.models import OrganizationOwnedModel, TimestampedModel


class Benefit(OrganizationOwnedModel):
    """What a customer gets for buying a product: ``type`` says which, ``properties`` holds its settings.

    properties by type:
    - custom: ``{"note": str|null}``
    - feature_flag: ``{}``
    - meter_credit: ``{"units": int, "rollover": bool, "meter_id": str}`` (``meter`` is the same meter, as a FK)
    - license_keys: ``{"prefix", "expires": {"ttl", "timeframe"}|null, "activations": {"limit",
      "enable_customer_admin"}|null, "limit_usage"}``
    """

    class Type(models.TextChoices):
        CUSTOM = "custom"
        FEATURE_FLAG = "feature_flag"
        METER_CREDIT = "meter_credit"
        LICENSE_KEYS = "license_keys"

    class Visibility(models.TextChoices):
        DRAFT = "draft"
        PRIVATE = "private"
        PUBLIC = "public"

    type = models.CharField(max_length=32, choices=Type.choices)
    description = models.CharField(max_length=256)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC)
    selectable = models.BooleanField(default=True)
    deletable = models.BooleanField(default=True)
    properties = models.JSONField(default=dict, blank=True)
    meter = models.ForeignKey("billing.Meter", on_delete=models.PROTECT, null=True, blank=True, related_name="benefits")
    metadata = models.JSONField(default=dict, blank=True)
    # Soft deletion: grants keep pointing at the benefit.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(type="meter_credit") | Q(meter__isnull=False), name="benefit_meter_credit_has_meter"
            ),
        ]

    def __str__(self):
        return f"{self.type}: {self.description}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class BenefitGrant(TimestampedModel):
    """A benefit granted to a customer because of a subscription or an order.

    At most one *active* (not revoked) grant exists per (customer, benefit, subscription) and per
    (customer, benefit, order): the partial unique indexes make granting idempotent even under races.
    A revoked grant stays as history; granting again creates a new row.
    """

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="benefit_grants")
    benefit = models.ForeignKey(Benefit, on_delete=models.PROTECT, related_name="grants")
    # Plain UUIDs for now: subscriptions and orders are built in other modules.
    subscription_id = models.UUIDField(null=True, blank=True, db_index=True)
    order_id = models.UUIDField(null=True, blank=True, db_index=True)
    granted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    error = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"]), models.Index(fields=["customer", "benefit"])]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "benefit", "subscription_id"],
                condition=Q(revoked_at__isnull=True, subscription_id__isnull=False),
                name="benefit_grant_one_active_per_subscription",
            ),
            models.UniqueConstraint(
                fields=["customer", "benefit", "order_id"],
                condition=Q(revoked_at__isnull=True, order_id__isnull=False, subscription_id__isnull=True),
                name="benefit_grant_one_active_per_order",
            ),
        ]

    def __str__(self):
        # Reads benefit and customer: select them with the grant in lists.
        state = "revoked" if self.revoked_at else "granted" if self.granted_at else "pending"
        return f"{self.benefit.description} → {self.customer} ({state})"

    @property
    def is_granted(self) -> bool:
        return self.granted_at is not None and self.revoked_at is None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class LicenseKey(OrganizationOwnedModel):
    """A license key issued by a ``license_keys`` benefit grant. ``key`` is the secret the customer holds."""

    class Status(models.TextChoices):
        GRANTED = "granted"
        REVOKED = "revoked"
        DISABLED = "disabled"

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="license_keys")
    benefit = models.ForeignKey(Benefit, on_delete=models.PROTECT, related_name="license_keys")
    grant = models.OneToOneField(BenefitGrant, on_delete=models.PROTECT, null=True, blank=True, related_name="license_key")
    key = models.CharField(max_length=128, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.GRANTED)
    limit_activations = models.PositiveIntegerField(null=True, blank=True)
    usage = models.PositiveIntegerField(default=0)
    limit_usage = models.PositiveIntegerField(null=True, blank=True)
    validations = models.PositiveIntegerField(default=0)
    last_validated_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(limit_usage__isnull=True) | Q(usage__lte=models.F("limit_usage")),
                name="license_key_usage_within_limit",
            ),
        ]

    def __str__(self):
        return self.display_key

    @property
    def display_key(self) -> str:
        # Polar shows only the last characters of a key in lists.
        return "****-" + self.key[-6:]


class LicenseKeyActivation(TimestampedModel):
    """One activation (a machine, an install) of a license key; ``limit_activations`` caps the live ones.

    Deactivation deletes the row (through the ORM, so the audit log keeps it)."""

    license_key = models.ForeignKey(LicenseKey, on_delete=models.CASCADE, related_name="activations")
    label = models.CharField(max_length=256)
    meta = models.JSONField(default=dict, blank=True)
    # What the activating software said about itself (machine id...); validations must match it.
    conditions = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.label} ({self.license_key})"
