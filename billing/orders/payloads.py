"""Output shapes of orders: what the API returns and webhooks carry, computed from loaded rows."""
from rest_framework import serializers

from billing.catalog.payloads import product_base_output
from billing.discounts.payloads import DiscountOutput
from billing.models import Order
from billing.subscriptions.payloads import subscription_base_output
from customers.payloads import customer_output
from polar.api.formatting import dt, sid

ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "state", "country")


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
            "units": None,
            "customer_id": str(order.customer_id),
            "product_id": sid(order.product_id),
            "discount_id": sid(order.discount_id),
            "subscription_id": sid(order.subscription_id),
            "checkout_id": sid(order.checkout_id),
            "metadata": order.metadata or {},
            "platform_fee_amount": order.platform_fee_amount,
            "platform_fee_currency": None,
            "customer": customer_output(order.customer),
            "product": product_base_output(order.product) if order.product_id else None,
            "discount": DiscountOutput(order.discount).data if order.discount_id else None,
            "subscription": subscription_base_output(order.subscription) if order.subscription_id else None,
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


