"""Reading checkout links: by organization for the API, by client secret for the public redirect."""

from __future__ import annotations

from django.db.models import Prefetch

from billing.catalog.selectors import products_for_output
from billing.models import CheckoutLink, CheckoutLinkProduct


def _live():
    return (
        CheckoutLink.objects.filter(deleted_at__isnull=True)
        .select_related("discount", "organization")
        .prefetch_related(
            # Each product with what ProductOutput renders (prices, benefits, is_deletable), once per page.
            Prefetch(
                "link_products",
                queryset=CheckoutLinkProduct.objects.order_by("order").prefetch_related(
                    Prefetch("product", queryset=products_for_output())
                ),
            )
        )
    )


def checkout_link_list(*, organization, organization_id=None, product_id=None):
    """The organization's live links, filtered as Polar's ``GET /v1/checkout-links/``."""
    queryset = _live().filter(organization=organization)
    if organization_id and organization.id not in organization_id:
        return queryset.none()
    if product_id:
        queryset = queryset.filter(
            pk__in=CheckoutLinkProduct.objects.filter(product_id__in=product_id).values("checkout_link_id")
        )
    return queryset


def checkout_link_get(*, organization, id) -> CheckoutLink | None:
    return _live().filter(organization=organization, pk=id).first()


def checkout_link_get_by_client_secret(*, client_secret: str) -> CheckoutLink | None:
    """The client secret is the link's public credential: it alone finds the link, in any organization."""
    if not client_secret:
        return None
    return _live().filter(client_secret=client_secret).first()
