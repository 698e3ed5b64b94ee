"""Reading checkouts: by organization for the API, by client secret for the buyer."""

from __future__ import annotations

from django.db.models import Prefetch, Q

from billing.catalog.selectors import products_for_output
from billing.models import Checkout, CheckoutProduct
from polar import clock


def _with_outputs(queryset):
    """Prefetch what ``CheckoutOutput`` renders: the selected product and the offered products (each with
    its prices, benefits, custom fields and is_deletable), so a page of checkouts reads them in a fixed
    number of queries instead of about fourteen per checkout."""
    return queryset.select_related("product_price", "discount", "customer", "subscription").prefetch_related(
        Prefetch("product", queryset=products_for_output()),
        Prefetch(
            "checkout_products",
            queryset=CheckoutProduct.objects.order_by("order").prefetch_related(
                Prefetch("product", queryset=products_for_output())
            ),
            to_attr="product_links",
        ),
    )


def checkout_get(*, organization, id) -> Checkout | None:
    return _with_outputs(Checkout.objects.filter(organization=organization, pk=id)).first()


def checkout_get_by_client_secret(*, client_secret: str) -> Checkout | None:
    """The client secret is the buyer's credential: it alone finds the checkout, in any organization."""
    if not client_secret:
        return None
    return Checkout.objects.select_related("organization").filter(client_secret=client_secret).first()


def checkout_list(*, organization, product_ids=None, customer_ids=None, external_customer_ids=None, statuses=None, query=None):
    """Checkouts of the organization, filtered as Polar's ``checkouts.list``. ``statuses`` are the statuses
    as read (an open or failed checkout past ``expires_at`` reads ``expired``)."""
    queryset = _with_outputs(Checkout.objects.filter(organization=organization))
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
