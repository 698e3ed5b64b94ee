"""The sign-in link e-mail of the customer portal (templates/emails/portal_link.*).

Asked for on ``/portal/<organization>/`` (the "link expired" page and the dunning e-mails' fallback link).
The e-mail carries a fresh customer session (``customer_session_create`` + ``customer_portal_url``), so it
works for the session's lifetime. Nobody learns whether an address is a customer's: an unknown address
sends nothing and the page says the same. At most one e-mail a minute per address and organization (an
atomic cache ``add``), so the form cannot be used to flood an inbox."""

from __future__ import annotations

from urllib.parse import urlencode

import structlog
from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from billing.portal.selectors import portal_customer_by_email, portal_customer_for_email_update
from billing.portal.sessions import customer_portal_url, customer_session_create

logger = structlog.get_logger(__name__)

LINK_THROTTLE_SECONDS = 60


def portal_link_send(*, organization, email: str) -> bool:
    """E-mail a sign-in link to the organization's customer with this address. Returns whether one was sent."""
    if not cache.add(f"billing:portal:link:{organization.id}:{email.lower()}", 1, timeout=LINK_THROTTLE_SECONDS):
        return False
    customer = portal_customer_by_email(organization=organization, email=email)
    if customer is None:
        return False
    session, token = customer_session_create(customer=customer)
    context = {
        "organization": organization,
        "customer": customer,
        "portal_url": customer_portal_url(token=token),
        "expires_at": session.expires_at,
    }
    message = EmailMultiAlternatives(
        subject=f"Your sign-in link for {organization.name}",
        body=render_to_string("emails/portal_link.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[customer.email],
    )
    message.attach_alternative(render_to_string("emails/portal_link.html", context), "text/html")
    try:
        message.send()
    except Exception:  # the page answers the same; the customer can ask again after the throttle
        logger.exception("portal.link_send_failed", customer_id=str(customer.id))
        return False
    logger.info("portal.link_sent", customer_id=str(customer.id), customer_session_id=str(session.pk))
    return True


def email_update_send(*, customer_id, email: str, token: str) -> bool:
    """The verification e-mail of an address change (``billing.portal.email_update``), sent to the NEW
    address after the request committed; its link opens ``/portal/email/verify``. A failure to send is
    logged: the customer asks again after the throttle."""
    customer = portal_customer_for_email_update(id=customer_id)
    if customer is None:
        return False
    organization = customer.organization
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    context = {
        "organization": organization,
        "customer": customer,
        "email": email,
        "verify_url": f"{base}/portal/email/verify?{urlencode({'token': token})}",
    }
    message = EmailMultiAlternatives(
        subject=f"Confirm your new e-mail address for {organization.name}",
        body=render_to_string("emails/portal_email_update.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email],
    )
    message.attach_alternative(render_to_string("emails/portal_email_update.html", context), "text/html")
    try:
        message.send()
    except Exception:  # nothing changed; the customer asks again
        logger.exception("portal.email_update_send_failed", customer_id=str(customer_id))
        return False
    return True
