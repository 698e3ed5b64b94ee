"""The customer portal's pages (``/portal/``, server-rendered, templates/portal/).

A customer arrives with a customer session token (``customer_portal_url``: the e-mail links, the
merchant's ``POST /v1/customer-sessions/``). The landing checks it once, keeps the session's id in the
Django session (a new session key, expiring with the customer session) and redirects to ``/portal/`` so
the token leaves the address bar. Every page then reloads the live customer session: once it expires, or
for a token that is unknown, the customer sees a "link expired" page that offers a new link by e-mail.

The customer sees their subscriptions, cards and invoices, adds a card, cancels or uncancels, changes the
quantity of a unit-based subscription, and opens or downloads an invoice, through the same services as the API. Every read is scoped to the signed-in
customer: another customer's id is a 404. Every write runs with the customer session as the audit actor.
Forms carry Django's CSRF token (the middleware refuses a POST without it).
"""

from __future__ import annotations

import functools
from urllib.parse import urlencode

import structlog
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST

from billing.checkouts.pages import SANDBOX_TEST_CARDS
from billing.orders.pages import invoice_render
from billing.payments import services as payment_services
from billing.portal import email_update, selectors
from billing.portal import emails as portal_emails
from billing.portal import services as portal_services
from billing.portal.forms import CancelForm, CardForm, LinkRequestForm, UnitsForm
from billing.portal.sessions import customer_session_authenticate, customer_session_create, customer_session_organization
from polar import clock, money
from polar.audit import customer_session_actor
from polar.errors import PolarError
from polar.pages import status_badge

logger = structlog.get_logger(__name__)

# The Django session's key for the signed-in customer session's id.
SESSION_KEY = "portal_customer_session_id"
# The newest invoices on the overview.
_ORDERS_SHOWN = 100
# Query parameters that carry the token (``customer_portal_url`` uses Polar's name).
_TOKEN_PARAMS = ("customer_session_token", "token")


def _remote_addr(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _signed_out(request, *, expired: bool, organization=None, status=403):
    """The page for a visitor without a live session: the link expired (or is not valid), sign in again."""
    context = {"expired": expired, "organization": organization, "form": LinkRequestForm()}
    return render(request, "portal/signed_out.html", context, status=status)


def portal_required(view):
    """Run ``view(request, session, ...)`` for a live customer session, with it as the audit actor; without
    one, answer the "link expired" page (a stale id in the Django session is dropped)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        session_id = request.session.get(SESSION_KEY)
        session = selectors.portal_session_get(id=session_id) if session_id else None
        if session is None:
            organization = selectors.portal_session_organization(id=session_id) if session_id else None
            request.session.pop(SESSION_KEY, None)
            return _signed_out(request, expired=bool(session_id), organization=organization)
        with customer_session_actor(session=session, remote_addr=_remote_addr(request)):
            return view(request, session, *args, **kwargs)

    return wrapper


def _home():
    return HttpResponseRedirect(reverse("customer-portal-page"))


def _base_context(session) -> dict:
    # The merchant's "back" link, only as a web address (never a javascript: or data: link in our page).
    return_url = session.return_url if (session.return_url or "").startswith(("https://", "http://")) else None
    return {"organization": session.organization, "customer": session.customer, "return_url": return_url}


def _fmt(amount, currency) -> str:
    return money.format_amount(amount, currency)


_CANCELING_BADGE = format_html('<span class="badge warn">{}</span>', "cancels at period end")


def _subscription_row(subscription) -> dict:
    count = subscription.recurring_interval_count
    interval = subscription.recurring_interval if count == 1 else f"{count} {subscription.recurring_interval}s"
    if subscription.status == "canceled":
        note = f"Ended {subscription.ended_at:%-d %B %Y}" if subscription.ended_at else "Ended"
    elif subscription.cancel_at_period_end and subscription.ends_at:
        note = f"Cancels on {subscription.ends_at:%-d %B %Y}"
    elif subscription.status == "past_due":
        note = "A payment failed: add a new card to pay it"
    elif subscription.status == "trialing" and subscription.trial_end:
        note = f"Trial until {subscription.trial_end:%-d %B %Y}"
    elif subscription.status in ("active", "trialing"):
        note = f"Renews on {subscription.current_period_end:%-d %B %Y}"
    else:
        note = ""
    unit_price = _unit_price(subscription)
    quantity = None
    if unit_price is not None and subscription.units is not None:
        locale = subscription.customer.locale or "en"
        quantity = f"{subscription.units:,} {unit_price.unit_noun(subscription.units, locale)}"
    return {
        "object": subscription,
        "name": subscription.product.name,
        "price": f"{_fmt(subscription.amount, subscription.currency)} / {interval}",
        # A unit-based price: the quantity in the price's own words (unit_label), and its bounds for the form.
        "quantity": quantity,
        "unit_price": unit_price,
        "can_change_units": unit_price is not None and subscription.status in ("active", "trialing"),
        "badge": _CANCELING_BADGE if subscription.cancel_at_period_end else status_badge(subscription.status),
        "note": note,
        "can_cancel": subscription.status != "canceled" and not subscription.cancel_at_period_end,
        "can_uncancel": subscription.status != "canceled" and subscription.cancel_at_period_end,
    }


def _unit_price(subscription):
    """The subscription's unit-based price, if it has one (``subscription_list`` prefetches the prices)."""
    for row in subscription.subscription_prices.all():
        if row.product_price.amount_type == "unit_based":
            return row.product_price
    return None


def _order_row(order) -> dict:
    return {
        "object": order,
        "total": _fmt(order.total_amount, order.currency),
        "badge": status_badge(order.status),
        "label": order.description or (order.product.name if order.product_id else "") or order.invoice_number,
    }


@require_http_methods(["GET"])
def portal_home(request):
    """``/portal/``: with a token, sign in and redirect here without it; else the overview (signed in)."""
    token = next((request.GET[name] for name in _TOKEN_PARAMS if request.GET.get(name)), None)
    if token is None:
        return _overview(request)
    session = customer_session_authenticate(token)
    if session is None:
        request.session.pop(SESSION_KEY, None)
        return _signed_out(request, expired=True, organization=customer_session_organization(token))
    # A new session key at sign-in (no fixation); the Django session ends with the customer session.
    request.session.cycle_key()
    request.session[SESSION_KEY] = str(session.pk)
    # In seconds from the business clock (polar.clock), so a time-travelled clock keeps the two in step.
    request.session.set_expiry(max(1, int((session.expires_at - clock.now()).total_seconds())))
    logger.info("portal.signed_in", customer_id=str(session.customer_id), customer_session_id=str(session.pk))
    return _home()


@portal_required
def _overview(request, session):
    customer = session.customer
    # Live subscriptions first, then ended ones; newest first within each.
    subscriptions = sorted(
        selectors.portal_subscription_list(customer=customer).order_by("-created_at", "-id"), key=lambda s: s.status == "canceled"
    )
    subscriptions = [_subscription_row(s) for s in subscriptions]
    # Void orders were never owed: not invoices to show.
    orders = selectors.portal_order_list(customer=customer).exclude(status="void").order_by("-created_at", "-id")
    orders = [_order_row(o) for o in orders[:_ORDERS_SHOWN]]
    cards = list(selectors.portal_payment_method_list(customer=customer).order_by("-created_at", "-id"))
    context = {
        **_base_context(session),
        "subscriptions": subscriptions,
        "orders": orders,
        "cards": cards,
        "default_card_id": customer.default_payment_method_id,
        "payment_due": any(s["object"].status == "past_due" for s in subscriptions)
        or any(o["object"].status == "pending" for o in orders),
    }
    return render(request, "portal/home.html", context)


def _subscription_or_404(session, id):
    subscription = selectors.portal_subscription_get(customer=session.customer, id=id)
    if subscription is None:
        raise Http404("Subscription not found")
    return subscription


@require_http_methods(["GET"])
@portal_required
def portal_subscription(request, session, id):
    """One subscription: what it costs, when it renews or ends, cancel or uncancel."""
    subscription = _subscription_or_404(session, id)
    return _subscription_page(request, session, subscription)


def _subscription_page(request, session, subscription, *, form=None, units_form=None, status=200):
    row = _subscription_row(subscription)
    if units_form is None and row["can_change_units"]:
        units_form = UnitsForm(unit_price=row["unit_price"], initial={"units": subscription.units})
    context = {**_base_context(session), "sub": row, "form": form or CancelForm(), "units_form": units_form}
    return render(request, "portal/subscription.html", context, status=status)


@require_POST
@portal_required
def portal_subscription_units(request, session, id):
    """Change the quantity of a unit-based subscription (``portal_subscription_change_units``, as the
    customer-portal API: the organization's proration behaviour; bounds refused by the service too)."""
    subscription = _subscription_or_404(session, id)
    row = _subscription_row(subscription)
    if not row["can_change_units"]:
        raise Http404("No quantity to change")
    form = UnitsForm(request.POST, unit_price=row["unit_price"])
    if not form.is_valid():
        return _subscription_page(request, session, subscription, units_form=form, status=422)
    try:
        subscription = portal_services.portal_subscription_change_units(
            subscription=subscription, units=form.cleaned_data["units"]
        )
    except PolarError as exc:
        errors = getattr(exc, "errors", None)
        form.add_error("units", errors[0]["msg"] if errors else str(exc.detail))
        return _subscription_page(request, session, subscription, units_form=form, status=exc.status_code)
    subscription = _subscription_or_404(session, id)
    messages.success(request, f"{subscription.product.name} is now {_subscription_row(subscription)['quantity']}.")
    return HttpResponseRedirect(reverse("customer-portal-subscription", args=[subscription.pk]))


@require_POST
@portal_required
def portal_subscription_cancel(request, session, id):
    """Cancel at the end of the period (``portal_subscription_cancel``, as the customer-portal API)."""
    subscription = _subscription_or_404(session, id)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _subscription_page(request, session, subscription, form=form, status=422)
    try:
        subscription = portal_services.portal_subscription_cancel(
            subscription=subscription, reason=form.cleaned_data["reason"] or None, comment=form.cleaned_data["comment"] or None
        )
    except PolarError as exc:
        messages.error(request, str(exc.detail))
    else:
        if subscription.status == "canceled":
            messages.success(request, f"{subscription.product.name} is canceled.")
        else:
            messages.success(
                request, f"{subscription.product.name} is canceled: it stays active until {subscription.ends_at:%-d %B %Y}."
            )
    return HttpResponseRedirect(reverse("customer-portal-subscription", args=[subscription.pk]))


@require_POST
@portal_required
def portal_subscription_uncancel(request, session, id):
    """Keep a subscription that was set to cancel (``portal_subscription_cancel`` with
    ``cancel_at_period_end=False``, as the customer-portal API)."""
    subscription = _subscription_or_404(session, id)
    try:
        subscription = portal_services.portal_subscription_cancel(subscription=subscription, cancel_at_period_end=False)
    except PolarError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(
            request, f"{subscription.product.name} continues: it renews on {subscription.current_period_end:%-d %B %Y}."
        )
    return HttpResponseRedirect(reverse("customer-portal-subscription", args=[subscription.pk]))


def _card_page(request, session, form, status=200):
    context = {**_base_context(session), "form": form, "sandbox_cards": _sandbox_cards()}
    return render(request, "portal/card_add.html", context, status=status)


def _sandbox_cards():
    return SANDBOX_TEST_CARDS if getattr(settings, "PAYMENT_PROCESSOR", "sandbox") == "sandbox" else None


@require_http_methods(["GET", "POST"])
@portal_required
def portal_card_add(request, session):
    """Add a card as the customer's default through ``portal_payment_method_add`` (as the customer-portal
    API), which retries at once what is past due: a customer fixing a failed payment is paid up."""
    if request.method == "GET":
        return _card_page(request, session, CardForm())
    form = CardForm(request.POST)
    if not form.is_valid():
        return _card_page(request, session, form, status=422)
    customer = session.customer
    unpaid_before = _unpaid_count(customer)
    try:
        card = portal_services.portal_payment_method_add(
            customer=customer, token=form.cleaned_data["card_number"], set_default=True
        )
    except payment_services.PaymentMethodSetupFailed as exc:
        code = exc.decline_code or "card_declined"
        form.add_error("card_number", f"Your card was declined ({code}). Try another card.")
        return _card_page(request, session, form, status=402)
    except PolarError as exc:
        form.add_error(None, str(exc.detail))
        return _card_page(request, session, form, status=exc.status_code)
    messages.success(request, f"{card.brand.title()} •••• {card.last4} is now your default card.")
    unpaid_after = _unpaid_count(customer)
    if unpaid_after < unpaid_before:
        paid = unpaid_before - unpaid_after
        messages.success(request, f"Paid {paid} overdue invoice{'s' if paid > 1 else ''} with it.")
    if unpaid_after:
        messages.error(request, "A past-due payment was declined with this card too. Try another card.")
    return _home()


def _unpaid_count(customer) -> int:
    return selectors.portal_order_list(customer=customer).filter(status="pending").count()


@require_POST
@portal_required
def portal_card_delete(request, session, id):
    """Remove a saved card (``portal_payment_method_delete``: another card takes over; the only card of a
    live subscription is refused)."""
    card = selectors.portal_payment_method_get(customer=session.customer, id=id)
    if card is None:
        raise Http404("Card not found")
    try:
        portal_services.portal_payment_method_delete(payment_method=card)
    except PolarError as exc:  # the only card of a live subscription
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, f"{card.brand.title()} •••• {card.last4} is removed.")
    return _home()


@require_http_methods(["GET"])
@portal_required
def portal_invoice(request, session, id):
    """The invoice of one of the customer's orders; ``?download=1`` saves it as a file."""
    order = selectors.portal_order_get(customer=session.customer, id=id)
    if order is None:
        raise Http404("Invoice not found")
    download = request.GET.get("download") == "1"
    return invoice_render(request, order, download=download, extra={"portal_back_url": reverse("customer-portal-page")})


@require_POST
@portal_required
def portal_email_change(request, session):
    """Ask for an address change (``email_update_request``, as the API): the link goes to the new address."""
    form = LinkRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter a valid e-mail address.")
        return _home()
    email = form.cleaned_data["email"]
    email_update.email_update_request(customer=session.customer, email=email)
    messages.success(request, f"We sent a link to {email}: open it within an hour to confirm your new address.")
    return _home()


@require_http_methods(["GET", "POST"])
def portal_email_verify(request):
    """``/portal/email/verify?token=…``, the link of the address-change e-mail: GET asks to confirm (a
    mail scanner that opens links changes nothing), POST applies it (``email_update_verify``) and signs in
    with the new customer session it opens. An invalid, expired or used link says so (403)."""
    token = request.GET.get("token") or request.POST.get("token") or ""
    found = email_update.email_update_customer(token)
    if found is None:
        return render(request, "portal/email_verify.html", {"invalid": True}, status=403)
    customer, email = found
    context = {"organization": customer.organization, "email": email, "token": token}
    if request.method == "GET":
        return render(request, "portal/email_verify.html", context)
    try:
        customer, session_token = email_update.email_update_verify(token=token)
    except PolarError as exc:  # the address became another customer's meanwhile (422)
        errors = getattr(exc, "errors", None)
        context["error"] = errors[0]["msg"] if errors else str(exc.detail)
        return render(request, "portal/email_verify.html", context, status=exc.status_code)
    session = customer_session_authenticate(session_token)
    request.session.cycle_key()
    request.session[SESSION_KEY] = str(session.pk)
    request.session.set_expiry(max(1, int((session.expires_at - clock.now()).total_seconds())))
    messages.success(request, f"Your e-mail address is now {customer.email}.")
    return _home()


@require_POST
def portal_sign_out(request):
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()
    return render(request, "portal/signed_out.html", {"signed_out": True, "form": LinkRequestForm()})


@require_http_methods(["GET", "POST"])
def portal_link_request(request, organization_slug):
    """``/portal/<organization>/``: ask for a sign-in link by e-mail. The answer is the same whether or
    not the address is a customer's (nobody learns who is one); at most one e-mail a minute per address."""
    organization = selectors.portal_organization_by_slug(slug=organization_slug)
    if organization is None:
        raise Http404("Organization not found")
    form = LinkRequestForm(request.POST if request.method == "POST" else None)
    sent = False
    if request.method == "POST" and form.is_valid():
        portal_emails.portal_link_send(organization=organization, email=form.cleaned_data["email"])
        sent = True
    context = {"organization": organization, "form": form, "sent": sent, "expired": False}
    return render(request, "portal/signed_out.html", context, status=422 if form.errors else 200)


@require_http_methods(["GET"])
def demo_portal_page(request):
    """``/demo/portal`` (development and demo only): sign in as the demo merchant's customer (a past-due one
    when the dunning demo seeded it) through a fresh customer session, so the landing page can link to it."""
    if not (getattr(settings, "DEVELOPMENT", False) or settings.DEBUG):
        raise Http404("No demo here")
    customer = selectors.portal_demo_customer(organization_slug="demo")
    if customer is None:
        raise Http404("The demo merchant is not seeded (make seed)")
    _session, token = customer_session_create(customer=customer)
    return HttpResponseRedirect(f"{reverse('customer-portal-page')}?{urlencode({'customer_session_token': token})}")
