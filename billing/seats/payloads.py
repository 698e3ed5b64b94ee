"""Output shapes of seats (Polar's ``CustomerSeat``, ``SeatsList``, ``SeatClaimInfo``), from loaded rows."""

from customers.payloads import member_output
from polar.api.formatting import dt, sid


def seat_output(seat) -> dict:
    """The API resource and the ``customer_seat.*`` webhooks' data. Reads ``customer`` and ``member``:
    select them with the seat (``billing.seats.selectors`` does)."""
    customer = seat.customer
    return {
        "id": str(seat.id),
        "created_at": dt(seat.created_at),
        "modified_at": dt(seat.modified_at),
        "subscription_id": sid(seat.subscription_id),
        "order_id": sid(seat.order_id),
        "status": seat.status,
        "customer_id": sid(seat.customer_id),
        "member_id": sid(seat.member_id),
        "member": member_output(seat.member) if seat.member_id else None,
        "email": seat.email,
        "customer_email": customer.email if customer is not None else seat.email,
        "invitation_token_expires_at": dt(seat.invitation_token_expires_at),
        "claimed_at": dt(seat.claimed_at),
        "revoked_at": dt(seat.revoked_at),
        "seat_metadata": seat.seat_metadata or {},
    }


def seats_list_output(*, seats, total_seats: int) -> dict:
    live = sum(1 for seat in seats if seat.status != "revoked")
    return {
        "seats": [seat_output(seat) for seat in seats],
        "available_seats": max(total_seats - live, 0),
        "total_seats": total_seats,
    }


def seat_claim_info_output(seat) -> dict:
    product = (seat.subscription or seat.order).product
    return {
        "product_name": product.name,
        "product_id": str(product.id),
        "organization_name": seat.organization.name,
        "organization_slug": seat.organization.slug,
        "customer_email": seat.customer.email or seat.email or "",
        "can_claim": True,
    }
