"""Output shapes of orders: what the API returns and webhooks carry, computed from loaded rows."""

from decimal import Decimal

from rest_framework import serializers

from billing.catalog.payloads import product_base_output
from billing.discounts.payloads import DiscountOutput
from billing.models import Order, Subscription
from customers.payloads import customer_output
from polar.api.formatting import dt, sid

ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "state", "country")


def order_subscription_output(subscription: Subscription) -> dict:
    """A subscription's flat fields: Polar's ``OrderSubscription``, embedded in an order. The full
    ``Subscription`` (``billing.subscriptions.payloads``) builds on it."""
    data = {
        "id": str(subscription.id),
        "created_at": dt(subscription.created_at),
        "modified_at": dt(subscription.modified_at),
        "metadata": subscription.metadata or {},
        # Polar's Subscription and CustomerStateSubscription carry it; an OrderSubscription ignores it.
        "custom_field_data": subscription.custom_field_data or {},
        "amount": subscription.amount,
        "currency": subscription.currency,
        "recurring_interval": subscription.recurring_interval,
        "recurring_interval_count": subscription.recurring_interval_count,
        "status": subscription.status,
        "current_period_start": dt(subscription.current_period_start),
        "current_period_end": dt(subscription.current_period_end),
        # Metered usage is billed per billing period (no separate meter cadence yet).
        "current_meter_period_start": dt(subscription.current_period_start),
        "current_meter_period_end": dt(subscription.current_period_end),
        "trial_start": dt(subscription.trial_start),
        "trial_end": dt(subscription.trial_end),
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "canceled_at": dt(subscription.canceled_at),
        "started_at": dt(subscription.started_at),
        "ends_at": dt(subscription.ends_at),
        "ended_at": dt(subscription.ended_at),
        "pause_at_period_end": False,
        "paused_at": None,
        "resumes_at": None,
        "customer_id": str(subscription.customer_id),
        "product_id": str(subscription.product_id),
        "discount_id": sid(subscription.discount_id),
        "checkout_id": sid(subscription.checkout_id),
        "units": subscription.units,
        "customer_cancellation_reason": subscription.customer_cancellation_reason,
        "customer_cancellation_comment": subscription.customer_cancellation_comment,
    }
    if subscription.seats is not None:
        data["seats"] = subscription.seats
    if subscription.past_due_at is not None:
        data["past_due_at"] = dt(subscription.past_due_at)
    return data


def dunning_state_output(case) -> dict:
    """Where the recovery of a failed order stands (``DunningCase``; not in Polar's shape, an extra key that
    both SDKs ignore): attempts made, the next one, the deadline. Here because the subscription's payload,
    which builds on this module, shows it too (``billing.dunning`` sits above both)."""
    return {
        "order_id": str(case.order_id),
        "status": case.status,
        "started_at": dt(case.started_at),
        "attempts_made": case.attempts_made
        if hasattr(case, "attempts_made")
        else case.attempts.exclude(status="pending").count(),
        "next_attempt_at": dt(case.next_attempt_at),
        "deadline_at": dt(case.deadline_at),
        "grace_ends_at": dt(case.grace_ends_at),
        "benefits_suspended": case.benefits_suspended_at is not None,
        "hard_declined": case.hard_declined,
        "end_action": case.end_action,
        "ended_at": dt(case.ended_at),
    }


def address_output(address: dict | None) -> dict | None:
    if not address or not address.get("country"):
        return None
    return {name: address.get(name) for name in ADDRESS_FIELDS}


def order_item_output(item) -> dict:
    return {
        "id": str(item.id),
        "created_at": dt(item.created_at),
        "modified_at": dt(item.modified_at),
        "label": item.label,
        "amount": item.amount,
        "tax_amount": item.tax_amount,
        "proration": item.proration,
        "product_price_id": sid(item.product_price_id),
        "start_timestamp": dt(item.period_start),
        "end_timestamp": dt(item.period_end),
        # Not in Polar's shape (extra keys are ignored by both SDKs): the discount and rate of the line.
        "discount_amount": item.discount_amount,
        "tax_rate_bps": item.tax_rate_bps,
    }


def order_units(order: Order) -> int | None:
    """Polar's ``Order.units``: the quantity bought of a ``unit_based`` price, read from the order's own
    pricing inputs (the charge line of that price: on a quantity change, the new quantity); None when the
    order bills no unit-based price."""
    for line in (order.pricing_inputs or {}).get("lines") or ():
        if (
            line.get("price", {}).get("amount_type") == "unit_based"
            and line.get("kind", "charge") == "charge"
            and line.get("units")
        ):
            return int(Decimal(line["units"]))
    return None


class OrderOutput(serializers.BaseSerializer):
    def to_representation(self, order: Order) -> dict:
        data = {
            "id": str(order.id),
            "created_at": dt(order.created_at),
            "modified_at": dt(order.modified_at),
            "status": order.status,
            "paid": order.paid,
            "subtotal_amount": order.subtotal_amount,
            "discount_amount": order.discount_amount,
            "net_amount": order.net_amount,
            "tax_amount": order.tax_amount,
            "total_amount": order.total_amount,
            "applied_balance_amount": order.applied_balance_amount,
            "due_amount": order.due_amount,
            "refunded_amount": order.refunded_amount,
            "refunded_tax_amount": order.refunded_tax_amount,
            "currency": order.currency,
            "billing_reason": order.billing_reason,
            "billing_name": order.billing_name,
            "billing_address": address_output(order.billing_address),
            "invoice_number": order.invoice_number,
            "is_invoice_generated": True,
            "receipt_number": order.invoice_number if order.paid else None,
            "units": order_units(order),
            "customer_id": str(order.customer_id),
            "product_id": sid(order.product_id),
            "discount_id": sid(order.discount_id),
            "subscription_id": sid(order.subscription_id),
            "checkout_id": sid(order.checkout_id),
            "metadata": order.metadata or {},
            "custom_field_data": order.custom_field_data or {},
            "platform_fee_amount": order.platform_fee_amount,
            "platform_fee_currency": None,
            "customer": customer_output(order.customer),
            "product": product_base_output(order.product) if order.product_id else None,
            "discount": DiscountOutput(order.discount).data if order.discount_id else None,
            "subscription": order_subscription_output(order.subscription) if order.subscription_id else None,
            "items": [order_item_output(item) for item in order.items.all()],
            "description": order.description or "",
            "refundable_amount": order.refundable_amount,
            "refundable_tax_amount": order.refundable_tax_amount,
        }
        if order.seats is not None:
            data["seats"] = order.seats
        if order.next_payment_attempt_at is not None:
            data["next_payment_attempt_at"] = dt(order.next_payment_attempt_at)
        return data
