from django.db import models
from django.db.models.functions import Lower

from polar.models import OrganizationOwnedModel, TimestampedModel


class Customer(OrganizationOwnedModel):
    """A merchant's customer. Email is unique per organization ignoring case; so is ``external_id``.

    Deletion is soft (``deleted_at``): orders and ledger rows keep pointing at the customer, and the
    email and external id become free for a new customer.
    """

    class Type(models.TextChoices):
        INDIVIDUAL = "individual"
        TEAM = "team"

    type = models.CharField(max_length=16, choices=Type.choices, default=Type.INDIVIDUAL)
    # Required for individuals, optional for teams (Polar's rule).
    email = models.EmailField(max_length=320, null=True, blank=True)
    email_verified = models.BooleanField(default=False)
    name = models.CharField(max_length=256, null=True, blank=True)
    billing_name = models.CharField(max_length=256, null=True, blank=True)
    billing_address = models.JSONField(null=True, blank=True)
    tax_id = models.JSONField(null=True, blank=True)
    locale = models.CharField(max_length=16, null=True, blank=True)
    external_id = models.CharField(max_length=256, null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    default_payment_method_id = models.UUIDField(null=True, blank=True)
    first_user_event_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "organization",
                Lower("email"),
                condition=models.Q(deleted_at__isnull=True, email__isnull=False),
                name="customer_email_unique_per_organization",
            ),
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=models.Q(deleted_at__isnull=True, external_id__isnull=False),
                name="customer_external_id_unique_per_organization",
            ),
        ]
        indexes = [models.Index(fields=["organization", "created_at"])]

    def __str__(self):
        return self.email or self.external_id or str(self.id)


class Member(TimestampedModel):
    """A person of a customer (a team's employee, or an individual's own login): Polar's ``Member``.

    Exactly one active owner per customer once members exist; a team has any number of other members
    (``billing_manager`` or ``member``), an individual only its owner. Email is unique per customer
    ignoring case, and so is ``external_id``, among members not deleted. Deletion is soft
    (``deleted_at``): seats and audit entries keep pointing at the member.
    """

    class Role(models.TextChoices):
        OWNER = "owner"
        BILLING_MANAGER = "billing_manager"
        MEMBER = "member"

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="members")
    email = models.EmailField(max_length=320)
    name = models.CharField(max_length=256, null=True, blank=True)
    external_id = models.CharField(max_length=256, null=True, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "customer", Lower("email"), condition=models.Q(deleted_at__isnull=True), name="member_email_unique_per_customer"
            ),
            models.UniqueConstraint(
                fields=["customer", "external_id"],
                condition=models.Q(deleted_at__isnull=True, external_id__isnull=False),
                name="member_external_id_unique_per_customer",
            ),
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(deleted_at__isnull=True, role="owner"),
                name="member_one_owner_per_customer",
            ),
        ]
        indexes = [models.Index(fields=["customer", "created_at"])]

    def __str__(self):
        return f"{self.email} ({self.role})"
