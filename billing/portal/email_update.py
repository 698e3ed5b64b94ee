"""A customer changes their e-mail address from the portal (Polar's ``customer_portal.customers``
``request_email_update`` / ``check_email_update`` / ``verify_email_update``).

The customer asks with a session; a link with a verification token goes to the NEW address; whoever
opens it proves they read that inbox, and the address changes (verified) with a fresh customer session.

The token is signed, not stored (``django.core.signing``, salted, valid ``EMAIL_UPDATE_MAX_AGE``). It
names the customer, the new address and a fingerprint of the address it replaces, so it works once: when
the address has changed (by this token, another one, or the merchant), every earlier token stops
matching. No table, nothing to prune."""

from __future__ import annotations

import datetime as dt
import hashlib

import structlog
from django.core import signing
from django.core.cache import cache
from django.db import transaction

from billing.portal import emails
from billing.portal.sessions import customer_session_create
from customers.models import Customer
from customers.services import customer_update
from polar.errors import Unauthorized

logger = structlog.get_logger(__name__)

EMAIL_UPDATE_SALT = "billing.portal.email-update"
EMAIL_UPDATE_MAX_AGE = dt.timedelta(hours=1)
# One verification e-mail a minute per customer: the request cannot be used to flood an inbox.
EMAIL_UPDATE_THROTTLE_SECONDS = 60


class InvalidCustomerEmailUpdate(Unauthorized):
    error = "InvalidCustomerEmailUpdate"

    def default_detail(self):
        return "Invalid or expired verification token."


def _fingerprint(email: str | None) -> str:
    return hashlib.sha256((email or "").lower().encode()).hexdigest()[:16]


def email_update_token(*, customer: Customer, email: str) -> str:
    """The signed verification token of a change of ``customer``'s address to ``email``."""
    payload = {"customer_id": str(customer.id), "email": email, "replaces": _fingerprint(customer.email)}
    return signing.dumps(payload, salt=EMAIL_UPDATE_SALT, compress=True)


def _payload(token: str) -> dict | None:
    try:
        payload = signing.loads(token, salt=EMAIL_UPDATE_SALT, max_age=EMAIL_UPDATE_MAX_AGE)
    except signing.BadSignature:  # also SignatureExpired
        return None
    return payload if isinstance(payload, dict) else None


def email_update_customer(token: str) -> tuple[Customer, str] | None:
    """The (customer, new address) a token stands for while it is valid: signed by us, not expired, the
    customer not deleted and its organization allowed to use the API, and the address it replaces still
    the customer's. Else None."""
    payload = _payload(token or "")
    if payload is None:
        return None
    customer = (
        Customer.objects.select_related("organization").filter(pk=payload.get("customer_id"), deleted_at__isnull=True).first()
    )
    if customer is None or not customer.organization.can_use_api():
        return None
    if _fingerprint(customer.email) != payload.get("replaces"):
        return None
    return customer, payload["email"]


def email_update_organization(token: str):
    """The organization a well-signed token belongs to, valid or used (for the Idempotency-Key namespace
    of the unauthenticated verify: a retry of a verify that succeeded replays its answer)."""
    payload = _payload(token or "")
    if payload is None:
        return None
    customer = Customer.objects.select_related("organization").filter(pk=payload.get("customer_id")).first()
    return customer.organization if customer is not None else None


def email_update_request(*, customer: Customer, email: str) -> bool:
    """Send the verification link for ``email`` to ``email`` (after commit). Returns whether one was
    sent: at most one a minute per customer (an atomic cache ``add``). Whether the address is another
    customer's is not said here (that would reveal who is a customer): the verify answers it, to whoever
    proved they read the inbox. Changes nothing until verified."""
    if not cache.add(f"billing:portal:email-update:{customer.id}", 1, timeout=EMAIL_UPDATE_THROTTLE_SECONDS):
        return False
    token = email_update_token(customer=customer, email=email)
    customer_id = customer.pk
    transaction.on_commit(lambda: emails.email_update_send(customer_id=customer_id, email=email, token=token))
    logger.info("portal.email_update.requested", customer_id=str(customer.id))
    return True


@transaction.atomic
def email_update_verify(*, token: str) -> tuple[Customer, str]:
    """Apply a verified change: the customer's address becomes the token's (``customer_update``: locks the
    customer row, 422 on ``email`` when another customer of the organization has it, ``customer.updated``
    emitted), marked verified; returns the customer and a new customer session's raw token (Polar's
    ``CustomerEmailUpdateVerifyResponse``). An invalid, expired or used token is 401
    ``InvalidCustomerEmailUpdate``; the customer row is locked before the token is checked against it, so
    two concurrent verifies of one token change the address once."""
    found = email_update_customer(token)
    if found is None:
        raise InvalidCustomerEmailUpdate()
    Customer.objects.select_for_update().get(pk=found[0].pk)
    found = email_update_customer(token)  # again, under the lock: the first of two concurrent verifies wins
    if found is None:
        raise InvalidCustomerEmailUpdate()
    customer, email = found
    customer = customer_update(customer=customer, changes={"email": email})
    customer.email_verified = True
    customer.save(update_fields=["email_verified"])
    _session, session_token = customer_session_create(customer=customer)
    logger.info("portal.email_update.verified", customer_id=str(customer.id))
    return customer, session_token
