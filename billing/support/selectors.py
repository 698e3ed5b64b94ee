"""Reads for the support pages (``/support/``), always within the organizations the staff member may see
(``polar.organizations.staff.staff_organizations``): a customer, order or subscription of any other
organization is simply not found, so the page answers 404 and says nothing about it.

Every list is bounded (a page, or the newest ``TIMELINE_SIZE`` entries) and read in a fixed number of
queries whatever its length: ``tests/billing/support/test_queries.py`` holds the budgets.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.db.models import CharField, Prefetch, Q, QuerySet
from django.db.models.functions import Cast, Lower

from billing.dunning.selectors import subscription_dunning_cases
from billing.models import BenefitGrant, Checkout, DunningCase, Order, Payment, Refund, Subscription
from billing.usage.selectors import customer_meter_list
from customers.models import Customer
from polar.organizations.staff import staff_organizations
from polar.webhooks.models import WebhookEvent

PAGE_SIZE = 25
TIMELINE_SIZE = 50
REFUNDS_SHOWN = 50
# A partial e-mail or name match scans the permitted organizations' customers: only for a few characters.
PARTIAL_MATCH_MIN_LENGTH = 3


@dataclass(frozen=True)
class SearchResult:
    """A page of customers found for ``query`` and what they were found by (for the page's heading)."""

    page: object  # django.core.paginator.Page of Customer rows
    matched_by: str


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def staff_customers(*, user) -> QuerySet[Customer]:
    """Customers of every organization ``user`` may see (soft-deleted ones too: their orders remain)."""
    return Customer.objects.filter(organization__in=staff_organizations(user))


def support_search(*, user, query: str, page: int = 1) -> SearchResult:
    """Customers matching ``query`` across the permitted organizations, newest first, ``PAGE_SIZE`` a page.

    An id (UUID) is looked up as a customer, order, subscription or checkout id, each by primary key in
    one statement. Anything else is an e-mail (exact, ignoring case: the unique index on ``lower(email)``)
    or an external id (exact); with no exact match, a part of an e-mail or name of at least
    ``PARTIAL_MATCH_MIN_LENGTH`` characters."""
    query = (query or "").strip()
    customers = staff_customers(user=user).select_related("organization").order_by("-created_at", "-id")
    if not query:
        return SearchResult(page=Paginator(customers.none(), PAGE_SIZE).get_page(1), matched_by="")
    as_uuid = _uuid(query)
    if as_uuid is not None:
        found = customers.filter(
            Q(pk=as_uuid)
            | Q(pk__in=Order.objects.filter(pk=as_uuid).values("customer_id"))
            | Q(pk__in=Subscription.objects.filter(pk=as_uuid).values("customer_id"))
            | Q(pk__in=Checkout.objects.filter(pk=as_uuid, customer__isnull=False).values("customer_id"))
        )
        return SearchResult(
            page=Paginator(found, PAGE_SIZE).get_page(page), matched_by="customer, order, subscription or checkout id"
        )
    exact = customers.annotate(email_lower=Lower("email")).filter(Q(email_lower=query.lower()) | Q(external_id=query))
    result = Paginator(exact, PAGE_SIZE).get_page(page)
    if result.paginator.count or len(query) < PARTIAL_MATCH_MIN_LENGTH:
        return SearchResult(page=result, matched_by="e-mail or external id")
    partial = customers.filter(Q(email__icontains=query) | Q(name__icontains=query))
    return SearchResult(page=Paginator(partial, PAGE_SIZE).get_page(page), matched_by="part of an e-mail or name")


def support_customer_get(*, user, id) -> Customer | None:
    """One customer of a permitted organization (None otherwise: the page answers 404)."""
    return staff_customers(user=user).select_related("organization").filter(pk=id).first()


def support_order_get(*, user, id) -> Order | None:
    return (
        Order.objects.filter(organization__in=staff_organizations(user), pk=id)
        .select_related("organization", "customer__organization")
        .first()
    )


def support_subscription_get(*, user, id) -> Subscription | None:
    return (
        Subscription.objects.filter(organization__in=staff_organizations(user), pk=id)
        .select_related("organization", "customer__organization", "product")
        .first()
    )


def customer_subscriptions(*, customer) -> list[Subscription]:
    """The customer's subscriptions, live ones first, each with ``dunning_case`` (its latest case or None)."""
    subscriptions = sorted(
        Subscription.objects.filter(customer=customer).select_related("product").order_by("-created_at", "-id"),
        key=lambda subscription: subscription.status == "canceled",
    )
    cases = subscription_dunning_cases(subscription_ids=[s.id for s in subscriptions]) if subscriptions else {}
    for subscription in subscriptions:
        subscription.dunning_case = cases.get(subscription.id)
    return subscriptions


def customer_orders(*, customer, page: int = 1):
    """A page of the customer's orders, newest first, each with its payment attempts (``payments``, oldest
    first, with their decline codes) read in one more query for the whole page."""
    orders = (
        Order.objects.filter(customer=customer)
        .select_related("product")
        .prefetch_related(Prefetch("payments", queryset=Payment.objects.order_by("created_at", "idempotency_key")))
        .order_by("-created_at", "-id")
    )
    return Paginator(orders, PAGE_SIZE).get_page(page)


def customer_refunds(*, customer) -> list[Refund]:
    return list(Refund.objects.filter(customer=customer).select_related("order").order_by("-created_at", "-id")[:REFUNDS_SHOWN])


def customer_benefit_grants(*, customer) -> list[BenefitGrant]:
    return list(BenefitGrant.objects.filter(customer=customer).select_related("benefit").order_by("-created_at", "-id"))


def customer_meters(*, customer) -> list:
    """Usage per meter this period (the customer meters' own periods: the subscription's, else the month)."""
    return customer_meter_list(organization=customer.organization, customer_ids=[customer.id])


# --- the timeline ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    source: str  # "audit" or "event"
    entry: object  # a LogEntry or a WebhookEvent


# Audited rows that name their customer.
_CUSTOMER_ROWS = (Subscription, Order, Payment, Refund, DunningCase, BenefitGrant)


def _pk_texts(queryset) -> QuerySet:
    # auditlog keeps object_pk as text; comparing against a subquery keeps the statement one statement.
    return queryset.annotate(pk_text=Cast("id", output_field=CharField())).values("pk_text")


def customer_audit_entries(*, customer, before: dt.datetime | None = None, limit: int = TIMELINE_SIZE) -> list[LogEntry]:
    """The newest audit entries of the customer and of its subscriptions, orders, payments, refunds, dunning
    cases and benefit grants (each kind one indexed sub-select on the customer)."""
    types = ContentType.objects.get_for_models(Customer, *_CUSTOMER_ROWS)
    condition = Q(content_type=types[Customer], object_pk=str(customer.pk))
    for model in _CUSTOMER_ROWS:
        condition |= Q(content_type=types[model], object_pk__in=_pk_texts(model.objects.filter(customer=customer)))
    entries = LogEntry.objects.filter(condition).select_related("actor", "content_type")
    if before is not None:
        entries = entries.filter(timestamp__lt=before)
    return list(entries.order_by("-timestamp", "-id")[:limit])


def customer_domain_events(*, customer, before: dt.datetime | None = None, limit: int = TIMELINE_SIZE) -> list[WebhookEvent]:
    """The newest domain events (outbox rows) about the customer: those whose resource names the customer
    (``data.customer_id``) or is the customer (``data.id``)."""
    customer_id = str(customer.pk)
    events = WebhookEvent.objects.filter(organization_id=customer.organization_id).filter(
        Q(payload__data__customer_id=customer_id) | Q(payload__data__id=customer_id)
    )
    if before is not None:
        events = events.filter(created_at__lt=before)
    return list(events.order_by("-created_at", "-id")[:limit])


def customer_timeline(*, customer, before: dt.datetime | None = None, limit: int = TIMELINE_SIZE) -> list[TimelineEntry]:
    """Audit entries and domain events merged newest first, ``limit`` in all (two queries). ``before``
    pages back: pass the ``at`` of the last entry shown."""
    merged = [
        TimelineEntry(at=e.timestamp, source="audit", entry=e)
        for e in customer_audit_entries(customer=customer, before=before, limit=limit)
    ]
    merged += [
        TimelineEntry(at=e.created_at, source="event", entry=e)
        for e in customer_domain_events(customer=customer, before=before, limit=limit)
    ]
    merged.sort(key=lambda item: item.at, reverse=True)
    return merged[:limit]
