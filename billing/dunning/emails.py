"""The customer in the loop: an e-mail on each failed attempt and one on recovery
(templates/emails/dunning_failed.* and dunning_recovered.*, in the look of the receipt).

Sent by the dunning services right after the transaction that decided them has committed, and again by
the hourly step for any notice still unsent (a mail server that was down). At most once per attempt
(``DunningAttempt.notified_at``) and once per recovered case (``DunningCase.recovery_notified_at``): the
send is claimed by a conditional UPDATE (``... WHERE notified_at IS NULL``) before the mail goes out and
released if sending fails.

The link into the customer portal comes from ``PORTAL_LINK_PROVIDER`` when one is installed (a customer
session minted by ``billing.portal.sessions``: ``billing.apps`` installs it, because the portal calls
dunning and the two packages must not import each other), else ``dunning_portal_link``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import structlog
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from billing.models import DunningAttempt, DunningAttemptStatus, DunningCase, DunningCaseStatus, DunningEndAction
from billing.orders.pages import invoice_signed_path
from polar import clock
from polar.money import format_amount

logger = structlog.get_logger(__name__)

FAILED = "failed"
RECOVERED = "recovered"


# callable(customer) -> str | None: a link that signs the customer into the portal (installed by billing.apps).
PORTAL_LINK_PROVIDER: Callable | None = None


def dunning_portal_link(customer) -> str:
    """Where the customer fixes their card: a signed-in portal link when a provider is installed, else
    the organization's portal page, which asks for the customer's e-mail."""
    if PORTAL_LINK_PROVIDER is not None:
        try:
            link = PORTAL_LINK_PROVIDER(customer)
        except Exception:  # never lose the e-mail over the link
            logger.exception("dunning.portal_link_failed", customer_id=str(customer.id))
            link = None
        if link:
            return link
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/portal/{customer.organization.slug}/"


def _context(case: DunningCase, *, portal_url: str | None) -> dict:
    order = case.order
    customer = order.customer
    subscription = case.subscription
    return {
        "organization": order.organization,
        "order": order,
        "case": case,
        "subscription": subscription,
        "product_name": order.product.name if order.product_id else order.description,
        "customer_name": order.billing_name or customer.billing_name or customer.name,
        "amount": format_amount(order.due_amount, order.currency),
        "portal_url": portal_url or dunning_portal_link(customer),
        "invoice_url": settings.PUBLIC_BASE_URL.rstrip("/") + invoice_signed_path(order),
    }


def _send(*, subject: str, template: str, context: dict, to: str) -> None:
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    message.send()


def dunning_failure_send(*, attempt_id, portal_url: str | None = None) -> bool:
    """E-mail the customer that attempt ``attempt_id`` failed (what happens next, or that it was the
    last). Once per attempt. Returns whether a mail was sent now."""
    attempt = (
        DunningAttempt.objects.select_related(
            "case__order__organization", "case__order__customer", "case__order__product", "case__subscription", "payment_method"
        )
        .filter(pk=attempt_id, status=DunningAttemptStatus.FAILED)
        .first()
    )
    if attempt is None or not attempt.case.order.customer.email:
        return False
    if not DunningAttempt.objects.filter(pk=attempt.pk, notified_at__isnull=True).update(notified_at=clock.now()):
        return False  # already sent, or being sent
    case = attempt.case
    context = _context(case, portal_url=portal_url)
    final = not case.is_open
    context.update(
        {
            "attempt": attempt,
            "final": final,
            "ended": final and case.status == DunningCaseStatus.EXHAUSTED,
            "revoked": case.end_action == DunningEndAction.REVOKE,
            "next_attempt_at": case.next_attempt_at,
            "card": attempt.payment_method,
        }
    )
    subject = (
        f"Your subscription to {context['product_name']} has ended: payment failed"
        if context["ended"] and context["revoked"] and not case.usage_only
        else f"Payment of {context['amount']} to {context['organization'].name} failed"
    )
    try:
        _send(subject=subject, template="dunning_failed", context=context, to=case.order.customer.email)
    except Exception:
        DunningAttempt.objects.filter(pk=attempt.pk).update(notified_at=None)  # let a retry send it
        raise
    logger.info("dunning.failure_notified", attempt_id=str(attempt.id))
    return True


def dunning_recovery_send(*, case_id, portal_url: str | None = None) -> bool:
    """E-mail the customer that the payment went through and the subscription is back. Once per case."""
    case = (
        DunningCase.objects.select_related("order__organization", "order__customer", "order__product", "subscription")
        .filter(pk=case_id, status=DunningCaseStatus.RECOVERED)
        .first()
    )
    if case is None or not case.order.customer.email:
        return False
    if not DunningCase.objects.filter(pk=case.pk, recovery_notified_at__isnull=True).update(recovery_notified_at=clock.now()):
        return False
    context = _context(case, portal_url=portal_url)
    try:
        _send(
            subject=f"Payment received: {context['product_name']} is active again",
            template="dunning_recovered",
            context=context,
            to=case.order.customer.email,
        )
    except Exception:
        DunningCase.objects.filter(pk=case.pk).update(recovery_notified_at=None)
        raise
    logger.info("dunning.recovery_notified", case_id=str(case.id))
    return True


def dunning_email_send(kind: str, object_id, *, portal_url: str | None = None) -> bool:
    if kind == FAILED:
        return dunning_failure_send(attempt_id=object_id, portal_url=portal_url)
    if kind == RECOVERED:
        return dunning_recovery_send(case_id=object_id, portal_url=portal_url)
    raise ValueError(f"unknown dunning e-mail {kind!r}")


def dunning_notify(kind: str, object_id) -> None:
    """Send a customer e-mail now; called after the transaction that decided it has committed (no lock
    held). Sent here rather than through a task so that the sweep, the portal and the API leave the
    caller's audit actor alone (auditlog's context does not nest); a failed send is logged, never
    raised, and the hourly step sends what is still unsent (``dunning_notices_resend``). At most once each."""
    try:
        dunning_email_send(kind, object_id)
    except Exception:
        logger.exception("dunning.notify_failed", kind=kind, object_id=str(object_id))


def dunning_notices_resend(*, now: dt.datetime, limit: int) -> int:
    """Send again the e-mails of the last day whose send failed (each is claimed once before it goes out)."""
    since = now - dt.timedelta(days=1)
    attempts = list(
        DunningAttempt.objects.filter(status=DunningAttemptStatus.FAILED, notified_at__isnull=True, claimed_at__gte=since)
        .exclude(order__customer__email="")
        .values_list("id", flat=True)[:limit]
    )
    cases = list(
        DunningCase.objects.filter(status=DunningCaseStatus.RECOVERED, recovery_notified_at__isnull=True, ended_at__gte=since)
        .exclude(order__customer__email="")
        .values_list("id", flat=True)[:limit]
    )
    for attempt_id in attempts:
        dunning_notify(FAILED, attempt_id)
    for case_id in cases:
        dunning_notify(RECOVERED, case_id)
    return len(attempts) + len(cases)
