"""Customer sessions: mint, authenticate, and link to the portal.

A session is a bearer token (``polar_cst_...``) that lets one customer act on their own data through the
customer-portal API and the ``/portal/`` pages. The merchant mints it (``POST /v1/customer-sessions/``),
as do the e-mails that link into the portal. Only the token's SHA-256 is stored.
"""

import datetime as dt
import hashlib
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction

from billing.models import CustomerSession
from billing.models.portal import CUSTOMER_SESSION_TOKEN_PREFIX
from polar import clock


def _hash(raw_token: str) -> str:
    # 256-bit random tokens: a fast hash is enough (nothing to guess from a dictionary).
    return hashlib.sha256(raw_token.encode()).hexdigest()


def customer_session_create(*, customer, return_url: str | None = None) -> tuple[CustomerSession, str]:
    """Mint a session for ``customer``, valid for ``settings.CUSTOMER_SESSION_TTL`` seconds. Returns the row
    and the raw token, which is never stored and cannot be shown again. Locks nothing and emits nothing (Polar
    sends no webhook for it); each call is a new session, so it is not idempotent by itself: the API's
    Idempotency-Key replays the first answer instead."""
    raw = CUSTOMER_SESSION_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        session = CustomerSession.objects.create(
            organization_id=customer.organization_id,
            customer=customer,
            token_hash=_hash(raw),
            expires_at=clock.now() + dt.timedelta(seconds=settings.CUSTOMER_SESSION_TTL),
            return_url=return_url,
        )
    session.customer = customer
    return session, raw


def customer_session_authenticate(token: str) -> CustomerSession | None:
    """The live session of ``token``: None when unknown, expired, or its customer is deleted, or its
    organization may not use the API. The customer and organization come loaded."""
    if not token or not token.startswith(CUSTOMER_SESSION_TOKEN_PREFIX):
        return None
    session = (
        CustomerSession.objects.select_related("customer", "organization")
        .filter(token_hash=_hash(token), expires_at__gt=clock.now(), customer__deleted_at__isnull=True)
        .first()
    )
    if session is None or not session.organization.can_use_api():
        return None
    return session


def customer_session_organization(token: str):
    """The organization of ``token``'s session even once it has expired (None for an unknown token): the
    portal's "link expired" page offers that organization's form for a new sign-in link."""
    if not token or not token.startswith(CUSTOMER_SESSION_TOKEN_PREFIX):
        return None
    session = CustomerSession.objects.select_related("organization").filter(token_hash=_hash(token)).first()
    return session.organization if session is not None else None


def customer_portal_url(*, token: str) -> str:
    """The absolute URL of the portal pages that signs in with ``token`` (``/portal/?customer_session_token=``)."""
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    return f"{base}/portal/?{urlencode({'customer_session_token': token})}"


# Expired sessions are kept a week: the portal pages still name the organization of an expired link (its
# sign-in page) when the customer comes back to it; after that the row is only clutter.
EXPIRED_SESSIONS_KEPT = dt.timedelta(days=7)


def customer_sessions_prune(*, now=None, limit: int = 5000) -> int:
    """Delete sessions expired more than ``EXPIRED_SESSIONS_KEPT`` ago (at most ``limit``, oldest first).
    Locks nothing (nobody can use an expired session); idempotent. Returns how many were deleted."""
    cutoff = (now or clock.now()) - EXPIRED_SESSIONS_KEPT
    ids = list(CustomerSession.objects.filter(expires_at__lt=cutoff).order_by("expires_at").values_list("pk", flat=True)[:limit])
    if not ids:
        return 0
    deleted, _ = CustomerSession.objects.filter(pk__in=ids).delete()
    return deleted
