"""Reads of payment methods and payments, always scoped to an organization."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import Q

from billing.models import Payment, PaymentMethod
from customers.models import Customer


def payment_customer_get(*, organization, id: uuid.UUID) -> Customer | None:
    """The organization's (not deleted) customer ``id``, or None."""
    return Customer.objects.filter(organization=organization, id=id, deleted_at__isnull=True).first()


def payment_customer_get_by_external_id(*, organization, external_id: str) -> Customer | None:
    """The organization's (not deleted) customer with this external id, or None."""
    return Customer.objects.filter(organization=organization, external_id=external_id, deleted_at__isnull=True).first()


def payment_method_list(*, organization, customer: Customer):
    """A customer's usable (not deleted) saved methods."""
    return PaymentMethod.objects.filter(organization=organization, customer=customer, deleted_at__isnull=True)


def payment_method_get(*, organization, customer: Customer, id: uuid.UUID) -> PaymentMethod | None:
    return payment_method_list(organization=organization, customer=customer).filter(id=id).first()


def payment_method_default(*, customer: Customer) -> PaymentMethod | None:
    """The customer's default method if it is still usable (the renewal path charges this one)."""
    if customer.default_payment_method_id is None:
        return None
    return PaymentMethod.objects.filter(id=customer.default_payment_method_id, customer=customer, deleted_at__isnull=True).first()


def payment_list(
    *,
    organization,
    customer_id: Iterable[uuid.UUID] | None = None,
    order_id: Iterable[uuid.UUID] | None = None,
    checkout_id: Iterable[uuid.UUID] | None = None,
    status: Iterable[str] | None = None,
    method: Iterable[str] | None = None,
    customer_email: Iterable[str] | None = None,
):
    """The organization's payments, filtered (each filter matches any of its values)."""
    queryset = Payment.objects.filter(organization=organization).select_related("payment_method")
    if customer_id:
        queryset = queryset.filter(customer_id__in=list(customer_id))
    if order_id:
        queryset = queryset.filter(order_id__in=list(order_id))
    if checkout_id:
        queryset = queryset.filter(checkout_id__in=list(checkout_id))
    if status:
        queryset = queryset.filter(status__in=list(status))
    if method:
        queryset = queryset.filter(payment_method__type__in=list(method))
    if customer_email:
        matches = Q()
        for email in customer_email:
            matches |= Q(customer__email__iexact=email)
        queryset = queryset.filter(matches)
    return queryset


def payment_get(*, organization, id: uuid.UUID) -> Payment | None:
    return payment_list(organization=organization).filter(id=id).first()
