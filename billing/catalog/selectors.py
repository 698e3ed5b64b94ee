"""Reads of products and prices, always scoped to one organization."""

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Prefetch, Q

from billing.models import Product, ProductBenefit, ProductCustomField, ProductPrice


def _with_outputs(queryset):
    """Prefetch what ``ProductOutput`` renders: active prices (with meters), live benefits, and whether the
    product may be deleted (``is_deletable``: one subquery per referring table, in the same SELECT)."""
    return queryset.annotate(
        is_deletable_annotation=ExpressionWrapper(~_product_in_use(), output_field=BooleanField())
    ).prefetch_related(
        Prefetch(
            "all_prices",
            queryset=ProductPrice.objects.filter(is_archived=False).select_related("meter").order_by("created_at", "id"),
            to_attr="active_prices",
        ),
        Prefetch(
            "product_benefits",
            queryset=ProductBenefit.objects.filter(benefit__deleted_at__isnull=True).select_related("benefit"),
            to_attr="benefit_links",
        ),
        Prefetch(
            "product_custom_fields",
            queryset=ProductCustomField.objects.filter(custom_field__deleted_at__isnull=True)
            .select_related("custom_field")
            .order_by("order"),
            to_attr="custom_field_links",
        ),
    )


def products_for_output():
    """Every product, with what ``ProductOutput`` renders fetched per page: the queryset another domain's
    selector hands to ``Prefetch("product", ...)`` when its rows embed their product (subscriptions,
    checkouts, checkout links), so that a page of them reads its products in a fixed number of queries."""
    return _with_outputs(Product.objects.all())


def product_list(
    *,
    organization,
    id=None,
    organization_id=None,
    query: str | None = None,
    is_archived: bool | None = None,
    is_recurring: bool | None = None,
    benefit_id=None,
    visibility=None,
    metadata: dict | None = None,
):
    queryset = Product.objects.filter(organization=organization)
    if id:
        queryset = queryset.filter(pk__in=id)
    if organization_id:
        queryset = queryset.filter(organization_id__in=organization_id)
    if query:
        queryset = queryset.filter(Q(name__icontains=query) | Q(description__icontains=query))
    if is_archived is not None:
        queryset = queryset.filter(is_archived=is_archived)
    if is_recurring is not None:
        queryset = queryset.filter(recurring_interval__isnull=not is_recurring)
    if visibility:
        queryset = queryset.filter(visibility__in=visibility)
    if benefit_id:
        queryset = queryset.filter(pk__in=ProductBenefit.objects.filter(benefit_id__in=benefit_id).values("product_id"))
    for key, value in (metadata or {}).items():
        # Query strings carry text; match the stored value whatever its JSON type.
        queryset = queryset.filter(Q(**{f"metadata__{key}": value}) | Q(**{f"metadata__{key}__iexact": value}))
    return _with_outputs(queryset)


def product_get(*, organization, id) -> Product | None:
    return _with_outputs(Product.objects.filter(organization=organization, pk=id)).first()


def product_price_history(*, product: Product, is_archived: bool | None = None):
    """Every version of every price of the product, newest first (archived ones included)."""
    queryset = ProductPrice.objects.filter(product=product).select_related("meter")
    if is_archived is not None:
        queryset = queryset.filter(is_archived=is_archived)
    return queryset


def product_prices_active(*, product: Product, currency: str | None = None):
    """The product's current price versions (what a new checkout may buy), optionally in one currency."""
    queryset = ProductPrice.objects.filter(product=product, is_archived=False).select_related("meter")
    if currency is not None:
        queryset = queryset.filter(price_currency=currency.lower())
    return queryset.order_by("created_at", "id")


def product_price_get(*, organization, id) -> ProductPrice | None:
    """A price version by id, archived or not (subscriptions and orders keep old versions)."""
    return ProductPrice.objects.select_related("product", "meter").filter(product__organization=organization, pk=id).first()


def _product_relations():
    """The (model, lookup to the product) pairs of every row that may refer to a product or to one of its
    price versions, besides the catalog's own rows (prices, benefit links)."""
    for relation in Product._meta.related_objects:
        if relation.many_to_many or relation.related_model in (ProductPrice, ProductBenefit):
            continue
        yield relation.related_model, relation.field.name
    for relation in ProductPrice._meta.related_objects:
        if relation.many_to_many or relation.related_model is ProductPrice:
            continue
        yield relation.related_model, f"{relation.field.name}__product"


def _product_in_use() -> Q:
    """True for a product (the outer query's row) that something outside the catalog refers to."""
    condition = Q(pk__in=[])
    for model, lookup in _product_relations():
        condition |= Q(Exists(model._default_manager.filter(**{lookup: OuterRef("pk")})))
    return condition


def product_is_deletable(*, product: Product) -> bool:
    """True while nothing but the catalog refers to the product: no discount restriction, no checkout,
    subscription, order... pointing at the product or at any of its price versions.

    Reverse relations are discovered from the model registry, so a new model that refers to products
    or prices (orders, subscriptions) makes a product in use without a change here.

    Products read through ``product_list`` / ``product_get`` carry the answer already (computed in their
    SELECT); this reads it for a product loaded otherwise, one EXISTS per referring table.
    """
    annotated = getattr(product, "is_deletable_annotation", None)
    if annotated is not None:
        return annotated
    for model, lookup in _product_relations():
        if model._default_manager.filter(**{lookup: product}).exists():
            return False
    return True
