"""Seats of seat-based products: who of the buyer's team holds one of the ``seats`` a subscription (or a
one-time order) paid for."""

from django.db import models
from django.db.models import Q

from polar.models import OrganizationOwnedModel


class SeatStatus(models.TextChoices):
    PENDING = "pending"  # assigned, invitation sent, not claimed yet
    CLAIMED = "claimed"  # the holder accepted: the product's benefits are granted to them
    REVOKED = "revoked"  # given back: the seat counts as free again


class CustomerSeat(OrganizationOwnedModel):
    """One seat of a subscription (or of a paid one-time order) with ``seats``.

    Invariants (``billing.seats.services`` keeps them, under a lock on the subscription or order row):
    - seats that are not revoked never outnumber the container's ``seats``;
    - a customer holds at most one live seat per container (partial unique indexes);
    - ``claimed`` ⇔ the holder (``customer``) has the product's benefits granted for the container.
    The invitation token is stored as its SHA-256 (the e-mail carries the raw token); a resend issues a new one.
    """

    subscription = models.ForeignKey(
        "billing.Subscription", on_delete=models.PROTECT, null=True, blank=True, related_name="customer_seats"
    )
    order = models.ForeignKey("billing.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="customer_seats")
    status = models.CharField(max_length=16, choices=SeatStatus.choices, default=SeatStatus.PENDING)
    # The seat holder: a customer of the same organization (found or created by e-mail).
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="seats")
    # The member of the buyer's customer the seat was assigned to, when assigned by member.
    member = models.ForeignKey("customers.Member", on_delete=models.PROTECT, null=True, blank=True, related_name="seats")
    email = models.EmailField(max_length=320, null=True, blank=True)
    invitation_token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    invitation_token_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    seat_metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(subscription__isnull=False, order__isnull=True) | Q(subscription__isnull=True, order__isnull=False),
                name="customer_seat_one_container",
            ),
            models.UniqueConstraint(
                fields=["subscription", "customer"],
                condition=Q(subscription__isnull=False) & ~Q(status="revoked"),
                name="customer_seat_one_live_per_subscription_customer",
            ),
            models.UniqueConstraint(
                fields=["order", "customer"],
                condition=Q(order__isnull=False) & ~Q(status="revoked"),
                name="customer_seat_one_live_per_order_customer",
            ),
        ]

    def __str__(self):
        return f"seat {self.pk} ({self.status})"
