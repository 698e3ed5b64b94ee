"""Reading checkouts: by organization for the API, by client secret for the buyer."""

from __future__ import annotations

from django.db.models import Q

from billing.models import Checkout
from polar import clock


def checkout_get(*, organization, id) -> Checkout | None:
    return Checkout.objects.filter(organization=organization, pk=id).first()


def checkout_get_by_client_secret(*, client_secret: str) -> Checkout | None:
    """The client secret is the buyer's credential: it alone finds the checkout, in any organization."""
    if not client_secret:
        return None
    return Checkout.objects.select_related("organization").filter(client_secret=client_secret).first()


def checkout_list(*, organization, product_ids=None, customer_ids=None, external_customer_ids=None, statuses=None, query=None):
    """Checkouts of the organization, filtered as Polar's ``checkouts.list``. ``statuses`` are the statuses
    as read (an open or failed checkout past ``expires_at`` reads ``expired``)."""
    queryset = Checkout.objects.filter(organization=organization).select_related(
        "product", "product_price", "discount", "customer", "subscription"
    )
    if product_ids:
        queryset = queryset.filter(checkout_products__product_id__in=product_ids).distinct()
    if customer_ids:
        queryset = queryset.filter(customer_id__in=customer_ids)
    if external_customer_ids:
        queryset = queryset.filter(
            Q(external_customer_id__in=external_customer_ids) | Q(customer__external_id__in=external_customer_ids)
        )
    if query:
        queryset = queryset.filter(Q(customer_email__icontains=query) | Q(customer__email__icontains=query))
    if statuses:
        now = clock.now()
        live = [Checkout.Status.OPEN, Checkout.Status.FAILED]
        condition = Q()
        for status in statuses:
            if status in live:
                condition |= Q(status=status, expires_at__gt=now)
            elif status == Checkout.Status.EXPIRED:
                condition |= Q(status=status) | Q(status__in=live, expires_at__lte=now)
            else:
                condition |= Q(status=status)
        queryset = queryset.filter(condition)
    return queryset
