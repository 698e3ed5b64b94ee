"""Reading seats, always scoped to one organization (or found by an invitation token's hash)."""

import hashlib

from django.db.models import Q

from billing.models import CustomerSeat, Order, SeatStatus, Subscription
from polar import clock


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def seat_list(*, organization, subscription=None, order=None):
    """The seats of one subscription or order of the organization, oldest first, with what the payload reads."""
    queryset = CustomerSeat.objects.filter(organization=organization).select_related("customer", "member")
    if subscription is not None:
        queryset = queryset.filter(subscription=subscription)
    if order is not None:
        queryset = queryset.filter(order=order)
    return queryset.order_by("created_at", "id")


def seat_get(*, organization, id):
    return CustomerSeat.objects.filter(organization=organization, pk=id).select_related("customer", "member").first()


def seats_live_count(*, subscription=None, order=None) -> int:
    """Seats that are not revoked: what the container's ``seats`` bounds."""
    container = Q(subscription=subscription) if subscription is not None else Q(order=order)
    return CustomerSeat.objects.filter(container).exclude(status=SeatStatus.REVOKED).count()


def seat_container_subscription(*, organization, id):
    return Subscription.objects.filter(organization=organization, pk=id).select_related("product", "customer").first()


def seat_container_order(*, organization, id):
    return Order.objects.filter(organization=organization, pk=id).select_related("product", "customer").first()


def seat_get_by_invitation_token(token: str, *, claimable: bool = True):
    """The seat an invitation token names; with ``claimable`` only a pending seat whose token has not
    expired (Polar answers the same 400 for a wrong, used or expired token)."""
    if not token:
        return None
    seat = (
        CustomerSeat.objects.filter(invitation_token_hash=token_hash(token))
        .select_related("organization", "customer", "member", "subscription__product", "order__product")
        .first()
    )
    if seat is None or not claimable:
        return seat
    if seat.status != SeatStatus.PENDING:
        return None
    if seat.invitation_token_expires_at is not None and seat.invitation_token_expires_at <= clock.now():
        return None
    return seat


# --- the customer portal: a buyer's own seats, and the seats a customer holds ----------------------------


def buyer_seat_container_subscription(*, customer, id):
    """A subscription of ``customer`` (the buyer) by id: another customer's is None (the portal's 404)."""
    return (
        Subscription.objects.filter(organization_id=customer.organization_id, customer=customer, pk=id)
        .select_related("product", "customer")
        .first()
    )


def buyer_seat_container_order(*, customer, id):
    return (
        Order.objects.filter(organization_id=customer.organization_id, customer=customer, pk=id)
        .select_related("product", "customer")
        .first()
    )


def buyer_seat_get(*, customer, id):
    """A seat of one of ``customer``'s own subscriptions or orders (the buyer manages it): a seat the
    customer merely holds, or another buyer's, is None."""
    return (
        CustomerSeat.objects.filter(organization_id=customer.organization_id, pk=id)
        .filter(Q(subscription__customer=customer) | Q(order__customer=customer))
        .select_related("customer", "member")
        .first()
    )


def claimed_subscription_ids(*, customer):
    """Ids of the subscriptions in which ``customer`` holds a claimed seat (someone else bought them)."""
    return CustomerSeat.objects.filter(
        organization_id=customer.organization_id, customer=customer, status=SeatStatus.CLAIMED, subscription__isnull=False
    ).values("subscription_id")
