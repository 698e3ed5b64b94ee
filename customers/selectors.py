"""Reading customers, always scoped to one organization. Deleted customers are invisible here."""

from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform

from .models import Customer, Member


def customer_list(
    *,
    organization,
    organization_ids: list | None = None,
    email: str | None = None,
    query: str | None = None,
    metadata: dict[str, list[str]] | None = None,
):
    """The organization's customers that are not deleted, filtered as Polar's ``GET /v1/customers/``.

    ``email`` matches exactly, ignoring case; ``query`` is a case-insensitive "contains" on email,
    name, billing name and external id; ``metadata`` is ``{key: [values]}``: any value of a key,
    every key (compared as text, so ``metadata[seats]=3`` matches the integer 3 and ``true`` a boolean).
    The ``active`` filter reads subscriptions: billing applies it (``billing.customers_api``).
    """
    queryset = Customer.objects.filter(organization=organization, deleted_at__isnull=True)
    if organization_ids is not None:
        queryset = queryset.filter(organization_id__in=organization_ids)
    if email is not None:
        queryset = queryset.filter(email__iexact=email)
    if query:
        queryset = queryset.filter(
            Q(email__icontains=query)
            | Q(name__icontains=query)
            | Q(billing_name__icontains=query)
            | Q(external_id__icontains=query)
        )
    for index, (key, values) in enumerate((metadata or {}).items()):
        # KeyTextTransform takes the key literally (no "__" path splitting), so any key is safe.
        alias = f"_metadata_{index}"
        queryset = queryset.alias(**{alias: KeyTextTransform(key, "metadata")}).filter(**{f"{alias}__in": values})
    return queryset


def customer_get(*, organization, id) -> Customer | None:
    return customer_list(organization=organization).filter(pk=id).first()


def customer_get_by_external_id(*, organization, external_id: str) -> Customer | None:
    return customer_list(organization=organization).filter(external_id=external_id).first()


def member_list(*, customer, role: str | None = None):
    """The customer's members that are not deleted (the customer was found through a scoped selector)."""
    queryset = Member.objects.filter(customer=customer, deleted_at__isnull=True)
    if role is not None:
        queryset = queryset.filter(role=role)
    return queryset


def member_get(*, customer, id) -> Member | None:
    return member_list(customer=customer).filter(pk=id).first()


def member_get_by_external_id(*, customer, external_id: str) -> Member | None:
    return member_list(customer=customer).filter(external_id=external_id).first()


def member_get_for_organization(*, organization, id) -> Member | None:
    """A member of any live customer of the organization (seats name members by id alone)."""
    return (
        Member.objects.filter(organization=organization, pk=id, deleted_at__isnull=True, customer__deleted_at__isnull=True)
        .select_related("customer")
        .first()
    )
