"""Reads of discounts, scoped to one organization; deleted discounts are invisible."""

from django.db.models import Prefetch, Q
from django.db.models.functions import Lower

from billing.models import Discount, DiscountAmount, DiscountProduct


def _with_outputs(queryset):
    return queryset.prefetch_related(
        Prefetch("amounts", queryset=DiscountAmount.objects.order_by("created_at", "currency")),
        Prefetch("discount_products", queryset=DiscountProduct.objects.select_related("product").order_by("created_at")),
    )


def discount_list(*, organization, query: str | None = None, organization_id=None):
    queryset = Discount.objects.filter(organization=organization, deleted_at__isnull=True)
    if organization_id:
        queryset = queryset.filter(organization_id__in=organization_id)
    if query:
        queryset = queryset.filter(Q(name__icontains=query) | Q(code__icontains=query))
    return _with_outputs(queryset)


def discount_get(*, organization, id) -> Discount | None:
    return _with_outputs(Discount.objects.filter(organization=organization, deleted_at__isnull=True, pk=id)).first()


def discount_get_by_code(*, organization, code: str) -> Discount | None:
    """The live discount with this code, ignoring case (what a customer types at checkout)."""
    return (
        _with_outputs(Discount.objects.annotate(code_lower=Lower("code")))
        .filter(organization=organization, deleted_at__isnull=True, code_lower=code.lower())
        .first()
    )
