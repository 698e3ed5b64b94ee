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


def _customer_ids_with_active_subscriptions(*, organization) -> list:
    # TODO(integrator): subscriptions live in billing (built in parallel). Return the ids of this
    # organization's customers with a trialing, active or past_due subscription, e.g.
    #     Subscription.objects.filter(organization=organization, status__in=[...]).values("customer_id")
    # Until then no customer has an active subscription, which is true in this branch.
    return []


def customer_get(*, organization, id) -> Customer | None:
    return customer_list(organization=organization).filter(pk=id).first()


def customer_get_by_external_id(*, organization, external_id: str) -> Customer | None:
    return customer_list(organization=organization).filter(external_id=external_id).first()


def customer_state(*, customer: Customer) -> dict:
    """What a merchant gates features on, in Polar's CustomerState shape (each list of dicts).

    The three lists are filled by the areas that own them (TODO(integrator): wire each one here):
    - ``active_subscriptions``: the customer's trialing/active/past_due subscriptions as
      CustomerStateSubscription (billing subscriptions selectors), each with its ``meters``;
    - ``granted_benefits``: the customer's benefit grants that are granted and not revoked, as
      CustomerStateBenefitGrant (billing benefits selectors);
    - ``active_meters``: the customer's meters with ``consumed_units``, ``credited_units`` and
      ``balance``, as CustomerStateMeter (customer meters / billing usage selectors).
    """
    return {"active_subscriptions": [], "granted_benefits": [], "active_meters": []}
