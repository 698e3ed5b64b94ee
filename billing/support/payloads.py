"""What the support pages show of each row, computed from rows already loaded (no query here): money as
money, dates as dates, statuses as badges, and one line of text for each timeline entry."""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import format_html

from polar.money import format_amount
from polar.pages import status_badge

_DATE = "%-d %b %Y"
_MOMENT = "%-d %b %Y %H:%M"
# Audit entry actions, by auditlog's numbers.
_ACTION_WORDS = {0: "created", 1: "changed", 2: "deleted", 3: "viewed"}
# The fields of an audit entry worth a line on the timeline (the rest is in the admin's history).
_CHANGES_SHOWN = 4
_NOISE = frozenset({"id", "created_at", "modified_at", "organization", "metadata", "support_action", "outcome"})
_CREATED_SHOWN = frozenset({"status", "amount", "total_amount", "currency", "reason", "billing_reason", "trigger"})


def _day(value) -> str:
    return value.strftime(_DATE) if value else "—"


def dunning_state(case) -> str:
    """One line on a subscription's dunning: none, or the case's status and what happens next."""
    if case is None:
        return "—"
    if case.is_open:
        parts = [f"retrying: {case.attempts_made} attempt{'s' if case.attempts_made != 1 else ''} made"]
        if case.next_attempt_at:
            parts.append(f"next {_day(case.next_attempt_at)}")
        parts.append(
            f"benefits suspended {_day(case.benefits_suspended_at)}"
            if case.benefits_suspended_at
            else f"grace until {_day(case.grace_ends_at)}"
        )
        return ", ".join(parts)
    return f"{case.status} {_day(case.ended_at)}".strip()


def subscription_row(subscription) -> dict:
    count = subscription.recurring_interval_count
    interval = subscription.recurring_interval if count == 1 else f"{count} {subscription.recurring_interval}s"
    badge = status_badge(subscription.status)
    if subscription.cancel_at_period_end:
        badge = format_html('{} <span class="badge warn">cancels {}</span>', badge, _day(subscription.ends_at))
    return {
        "object": subscription,
        "name": subscription.product.name,
        "badge": badge,
        "price": f"{format_amount(subscription.amount, subscription.currency)} / {interval}",
        "period": f"{_day(subscription.current_period_start)} – {_day(subscription.current_period_end)}",
        "dunning": dunning_state(subscription.dunning_case),
        "dunning_open": bool(subscription.dunning_case and subscription.dunning_case.is_open),
        "can_cancel": subscription.can_cancel(),
        "can_revoke": subscription.can_revoke(),
    }


def payment_row(payment) -> dict:
    text = f"{format_amount(payment.amount, payment.currency)} {payment.status}"
    if payment.decline_reason:
        text += f": {payment.decline_reason}"
    return {"object": payment, "badge": status_badge(payment.status, text), "message": payment.decline_message or ""}


def order_row(order) -> dict:
    return {
        "object": order,
        "label": order.description or (order.product.name if order.product_id else "") or order.billing_reason.replace("_", " "),
        "total": format_amount(order.total_amount, order.currency),
        "refunded": format_amount(order.refunded_amount, order.currency) if order.refunded_amount else "",
        "refundable": format_amount(order.refundable_amount, order.currency),
        "refundable_amount": order.refundable_amount,
        "badge": status_badge(order.status),
        "payments": [payment_row(p) for p in order.payments.all()],
        "can_refund": order.refundable_amount > 0,
        "can_retry": order.status == "pending" and order.payment_attempts > 0,
        "can_resend": order.paid,
    }


def refund_row(refund) -> dict:
    return {
        "object": refund,
        "amount": format_amount(refund.amount, refund.currency),
        "badge": status_badge(refund.status),
        "invoice_number": refund.order.invoice_number,
        "reason": refund.reason.replace("_", " "),
    }


def meter_row(customer_meter) -> dict:
    units = customer_meter.units

    def number(value) -> str:
        value = Decimal(value)
        return f"{value.normalize():,f}" if value != value.to_integral() else f"{int(value):,}"

    return {
        "name": customer_meter.meter.name,
        "consumed": number(units.consumed),
        "credited": number(units.credited),
        "balance": number(units.balance),
        "period": f"{_day(units.period_start)} – {_day(units.period_end)}",
    }


def benefit_row(grant) -> dict:
    if grant.revoked_at:
        status, at = "revoked", grant.revoked_at
    elif grant.granted_at:
        status, at = "granted", grant.granted_at
    else:
        status, at = "pending", grant.created_at
    return {"description": grant.benefit.description, "type": grant.benefit.type, "badge": status_badge(status), "at": _day(at)}


def _changes(entry) -> str:
    changes = {field: values for field, values in (entry.changes_dict or {}).items() if field not in _NOISE}
    if entry.action == 0:  # a creation lists every field: only what says what it is
        changes = {field: values for field, values in changes.items() if field in _CREATED_SHOWN}
    shown = []
    for field, values in list(changes.items())[:_CHANGES_SHOWN]:
        old, new = (values + [None, None])[:2] if isinstance(values, list) else (None, values)
        if entry.action == 0:
            shown.append(f"{field}: {_value(new)}")
        else:
            shown.append(f"{field}: {_value(old)} → {_value(new)}")
    if len(changes) > _CHANGES_SHOWN:
        shown.append(f"and {len(changes) - _CHANGES_SHOWN} more")
    return "; ".join(shown)


def _value(value) -> str:
    return "—" if value in (None, "None", "") else str(value)


def _actor(entry) -> str:
    if entry.actor_id and entry.actor is not None:
        return entry.actor.get_username()
    return entry.actor_email or ""


def _audit_item(entry) -> dict:
    extra = entry.additional_data if isinstance(entry.additional_data, dict) else {}
    model = entry.content_type.model_class()
    kind = model._meta.verbose_name if model is not None else entry.content_type.model
    action = extra.get("staff_action") or ""
    if action and "support_action" in (entry.changes_dict or {}):
        title = f"Support: {action.replace('_', ' ')} on {entry.object_repr}"
        outcome = (entry.changes_dict or {}).get("outcome") or ["", ""]
        detail = str(outcome[-1]) if isinstance(outcome, list) else str(outcome)
    else:
        title = f"{str(kind).capitalize()} {_ACTION_WORDS.get(entry.action, 'changed')}: {entry.object_repr}"
        detail = _changes(entry)
    return {"source": "audit", "title": title, "detail": detail, "actor": _actor(entry), "reason": extra.get("reason", "")}


def _event_item(event) -> dict:
    data = (event.payload or {}).get("data") or {}
    bits = []
    if data.get("status"):
        bits.append(str(data["status"]).replace("_", " "))
    amount = data.get("amount", data.get("total_amount"))
    if isinstance(amount, int) and data.get("currency"):
        bits.append(format_amount(amount, data["currency"]))
    return {"source": "event", "title": event.type, "detail": ", ".join(bits), "actor": "", "reason": ""}


def timeline_row(item) -> dict:
    """A merged timeline entry (``selectors.TimelineEntry``) as one line."""
    row = _audit_item(item.entry) if item.source == "audit" else _event_item(item.entry)
    return {**row, "at": item.at, "when": item.at.strftime(_MOMENT), "iso": item.at.isoformat()}
