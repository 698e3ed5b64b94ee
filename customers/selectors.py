"""Reading customers, always scoped to one organization. Deleted customers are invisible here."""
from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform

from .models import Customer


def customer_list(
    *,
    organization,
    organization_ids: list | None = None,
    email: str | None = None,
    query: str | None = None,
    metadata: dict[str, list[str]] | None = None,
    active: bool | None = None,
):
    """The organization's customers that are not deleted, filtered as Polar's ``GET /v1/customers/``.

    ``email`` matches exactly, ignoring case; ``query`` is a case-insensitive "contains" on email,
    name, billing name and external id; ``metadata`` is ``{key: [values]}``: any value of a key,
    every key (compared as text, so ``metadata[seats]=3`` matches the integer 3 and ``true`` a boolean).
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
    if active is not None:
        active_ids = _customer_ids_with_active_subscriptions(organization=organization)
        queryset = queryset.filter(pk__in=active_ids) if active else queryset.exclude(pk__in=active_ids)
    return queryset


def _customer_ids_with_active_subscriptions(*, organization):
    """Customers with a trialing, active or past_due subscription (a subquery, not a list)."""
    from billing.models import Subscription

    return Subscription.objects.filter(
        organization=organization, status__in=Subscription.ACTIVE_STATUSES
    ).values("customer_id")


def customer_get(*, organization, id) -> Customer | None:
    return customer_list(organization=organization).filter(pk=id).first()


def customer_get_by_external_id(*, organization, external_id: str) -> Customer | None:
    return customer_list(organization=organization).filter(external_id=external_id).first()


def customer_state(*, customer: Customer) -> dict:
    """What a merchant gates features on, in Polar's CustomerState shape (each list of dicts):

    - ``active_subscriptions``: trialing, active and past_due subscriptions (CustomerStateSubscription);
    - ``granted_benefits``: grants that are granted and not revoked (CustomerStateBenefitGrant);
    - ``active_meters``: the customer's meters for the current period with consumed and credited units
      and the balance (CustomerStateMeter), from the usage selectors.
    """
    # billing depends on customers (foreign keys), so it is imported here, not at module level.
    from billing.benefits.selectors import benefit_grants_active
    from billing.models import Subscription
    from billing.orders.payloads import order_subscription_output

    subscriptions = Subscription.objects.filter(
        customer=customer, status__in=Subscription.ACTIVE_STATUSES
    ).order_by("created_at", "pk")
    active_subscriptions = []
    for subscription in subscriptions:
        data = order_subscription_output(subscription)
        data.setdefault("seats", None)
        data["meters"] = []
        active_subscriptions.append(data)
    granted_benefits = [
        {
            "id": str(grant.id),
            "created_at": _iso(grant.created_at),
            "modified_at": _iso(grant.modified_at),
            "granted_at": _iso(grant.granted_at),
            "benefit_id": str(grant.benefit_id),
            "benefit_type": grant.benefit.type,
            "benefit_metadata": grant.benefit.metadata or {},
            "properties": grant.properties or {},
        }
        for grant in benefit_grants_active(customer=customer)
    ]
    return {
        "active_subscriptions": active_subscriptions,
        "granted_benefits": granted_benefits,
        "active_meters": _customer_active_meters(customer=customer),
    }


def _customer_active_meters(*, customer) -> list[dict]:
    from billing.usage.selectors import customer_state_meters

    return customer_state_meters(customer=customer)


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value is not None else None
