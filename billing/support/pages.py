"""The support pages (``/support/``, server-rendered, templates/support/), for staff signed in through the
admin's login (``staff_member_required`` sends anyone else there).

- ``/support/?q=``: customers found by e-mail, external id, or a customer, order, subscription or checkout
  id, across the organizations the staff member may see (``billing.support.selectors``);
- ``/support/customers/<id>/``: one customer's whole story: subscriptions (status, period, dunning), orders
  with their payment attempts and decline codes, refunds, usage per meter this period, benefits, and one
  timeline of audit entries and domain events;
- POST actions on a subscription or an order, each with a reason and through ``billing.support.services``
  (which checks access and roles and audits). A form is submitted once: its ``form_token`` is claimed in
  the cache, so a double click or a reload does not refund twice.

Another organization's customer, order or subscription answers 404; an action the staff member's roles do
not allow answers the customer page again with the refusal and status 403; bad input 422.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from billing.models import Refund
from billing.support import payloads, selectors, services
from billing.support.forms import ReasonForm, RefundForm
from polar.errors import PolarError
from polar.money import format_amount

# A form token is remembered this long: far longer than any double submission.
FORM_TOKEN_TTL = 24 * 3600


def _page_number(request, name: str = "page") -> int:
    try:
        return max(1, int(request.GET.get(name, "1")))
    except ValueError:
        return 1


@require_GET
@staff_member_required
def support_search_page(request):
    query = request.GET.get("q", "").strip()[:320]
    result = selectors.support_search(user=request.user, query=query, page=_page_number(request))
    context = {"query": query, "result": result, "customers": list(result.page.object_list)}
    return render(request, "support/search.html", context)


def _customer_or_404(request, customer_id):
    customer = selectors.support_customer_get(user=request.user, id=customer_id)
    if customer is None:
        raise Http404("No such customer")
    return customer


def _before(request) -> dt.datetime | None:
    try:
        before = dt.datetime.fromisoformat(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        return None
    return before if before is None or before.tzinfo else None


def _customer_context(request, customer) -> dict:
    orders = selectors.customer_orders(customer=customer, page=_page_number(request))
    timeline = selectors.customer_timeline(customer=customer, before=_before(request))
    allowed = services.support_allowed_actions(user=request.user, organization=customer.organization)
    return {
        "customer": customer,
        "organization": customer.organization,
        "allowed": allowed,
        "allowed_labels": ", ".join(action.replace("_", " ") for action in services.ACTIONS if action in allowed),
        "subscriptions": [payloads.subscription_row(s) for s in selectors.customer_subscriptions(customer=customer)],
        "orders": [payloads.order_row(o) for o in orders.object_list],
        "orders_page": orders,
        "refunds": [payloads.refund_row(r) for r in selectors.customer_refunds(customer=customer)],
        "meters": [payloads.meter_row(m) for m in selectors.customer_meters(customer=customer)],
        "benefits": [payloads.benefit_row(g) for g in selectors.customer_benefit_grants(customer=customer)],
        "timeline": [payloads.timeline_row(item) for item in timeline],
        "timeline_more": len(timeline) == selectors.TIMELINE_SIZE,
        "timeline_last_iso": timeline[-1].at.isoformat() if timeline else "",
        "form_token": uuid.uuid4(),
    }


@require_GET
@staff_member_required
def support_customer_page(request, customer_id):
    customer = _customer_or_404(request, customer_id)
    return render(request, "support/customer.html", _customer_context(request, customer))


def _refused(request, customer, *, detail: str, status: int):
    """The customer page again, with why the action was refused, and the error's status."""
    context = {**_customer_context(request, customer), "action_error": detail}
    return render(request, "support/customer.html", context, status=status)


def _claim_form(request, form) -> bool:
    """Claim the form's token once (``cache.add``: atomic). False: this very form was already submitted."""
    return cache.add(f"support:form:{form.cleaned_data['form_token']}", "1", timeout=FORM_TOKEN_TTL)


def _release_form(form) -> None:
    # The action was refused and nothing was done: the same form may be sent again once corrected.
    cache.delete(f"support:form:{form.cleaned_data['form_token']}")


def _form_errors(form) -> str:
    return "; ".join(f"{'' if field == '__all__' else field + ': '}{' '.join(errors)}" for field, errors in form.errors.items())


def _act(request, *, customer, form, run, done: str):
    """Validate ``form``, claim it, ``run(cleaned_data)`` and redirect to the customer page with ``done``
    (or with the refusal: the domain error's status, nothing done)."""
    if not form.is_valid():
        return _refused(request, customer, detail=_form_errors(form), status=422)
    page = reverse("support-customer", args=[customer.pk])
    if not _claim_form(request, form):
        messages.info(request, "That form was already submitted: nothing was done again.")
        return HttpResponseRedirect(page, status=303)
    try:
        outcome = run(form.cleaned_data)
    except PolarError as exc:
        _release_form(form)
        return _refused(request, customer, detail=exc.detail, status=exc.status_code)
    messages.success(request, done if outcome is None else f"{done}: {outcome}")
    return HttpResponseRedirect(page, status=303)


def _subscription_or_404(request, subscription_id):
    subscription = selectors.support_subscription_get(user=request.user, id=subscription_id)
    if subscription is None:
        raise Http404("No such subscription")
    return subscription


def _order_or_404(request, order_id):
    order = selectors.support_order_get(user=request.user, id=order_id)
    if order is None:
        raise Http404("No such order")
    return order


@require_POST
@staff_member_required
def support_subscription_cancel(request, subscription_id):
    subscription = _subscription_or_404(request, subscription_id)

    def run(data):
        services.support_subscription_cancel(actor=request.user, subscription=subscription, reason=data["reason"])

    return _act(
        request, customer=subscription.customer, form=ReasonForm(request.POST), run=run, done="Canceled at the period end"
    )


@require_POST
@staff_member_required
def support_subscription_revoke(request, subscription_id):
    subscription = _subscription_or_404(request, subscription_id)

    def run(data):
        services.support_subscription_revoke(actor=request.user, subscription=subscription, reason=data["reason"])

    return _act(request, customer=subscription.customer, form=ReasonForm(request.POST), run=run, done="Revoked")


@require_POST
@staff_member_required
def support_order_refund(request, order_id):
    order = _order_or_404(request, order_id)

    def run(data):
        result = services.support_order_refund(actor=request.user, order=order, amount=data["amount"], reason=data["reason"])
        if isinstance(result, Refund):
            return f"{format_amount(result.amount, result.currency)} {result.status}"
        return f"{format_amount(data['amount'], order.currency)} pending approval (above the four-eyes threshold)"

    form = RefundForm(request.POST, currency=order.currency)
    return _act(request, customer=order.customer, form=form, run=run, done=f"Refund of order {order.invoice_number}")


@require_POST
@staff_member_required
def support_payment_retry(request, order_id):
    order = _order_or_404(request, order_id)

    def run(data):
        attempt = services.support_payment_retry(actor=request.user, order=order, reason=data["reason"])
        return attempt.status + (f" ({attempt.decline_code})" if attempt.decline_code else "")

    return _act(
        request,
        customer=order.customer,
        form=ReasonForm(request.POST),
        run=run,
        done=f"Payment retried for {order.invoice_number}",
    )


@require_POST
@staff_member_required
def support_receipt_resend(request, order_id):
    order = _order_or_404(request, order_id)

    def run(data):
        services.support_receipt_resend(actor=request.user, order=order, reason=data["reason"])

    return _act(
        request,
        customer=order.customer,
        form=ReasonForm(request.POST),
        run=run,
        done=f"Receipt of {order.invoice_number} sent again",
    )
