"""The invitation a seat holder gets (HTML and text, templates/emails/seat_invitation.*), sent through
Django's mail backend after the seat's transaction commits (``billing.seats.services``)."""

from urllib.parse import urlencode

import structlog
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from billing.models import CustomerSeat

logger = structlog.get_logger(__name__)


def seat_claim_url(token: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("seat-claim-page") + "?" + urlencode({"token": token})


def seat_invitation_send(*, seat_id, token: str) -> bool:
    """E-mail the invitation of a pending seat to its holder. Returns whether a mail was sent."""
    seat = (
        CustomerSeat.objects.select_related("organization", "subscription__product", "order__product", "subscription__customer")
        .select_related("order__customer")
        .filter(pk=seat_id)
        .first()
    )
    if seat is None or seat.status != "pending" or not seat.email:
        return False
    container = seat.subscription or seat.order
    buyer = container.customer
    context = {
        "organization": seat.organization,
        "product_name": container.product.name,
        "invited_by": buyer.name or buyer.email or seat.organization.name,
        "claim_url": seat_claim_url(token),
        "expires_at": seat.invitation_token_expires_at,
    }
    message = EmailMultiAlternatives(
        subject=f"You have been given a seat for {container.product.name} by {seat.organization.name}",
        body=render_to_string("emails/seat_invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[seat.email],
    )
    message.attach_alternative(render_to_string("emails/seat_invitation.html", context), "text/html")
    message.send()
    logger.info("seat.invitation_sent", seat_id=str(seat.id))
    return True


def seat_invitation_send_safely(*, seat_id, token: str) -> bool:
    """``seat_invitation_send`` after commit: the seat is written whatever the mail server says, so a
    failure is logged (the merchant resends) rather than turned into an error for a request that succeeded."""
    try:
        return seat_invitation_send(seat_id=seat_id, token=token)
    except Exception:
        logger.exception("seat.invitation_failed", seat_id=str(seat_id))
        return False
