"""Reads of benefits and grants, scoped to one organization."""

from django.db.models import Q

from billing.models import Benefit, BenefitGrant


def benefit_list(*, organization, type=None, query: str | None = None, id=None, exclude_id=None, organization_id=None):
    queryset = Benefit.objects.filter(organization=organization, deleted_at__isnull=True)
    if type:
        queryset = queryset.filter(type__in=type)
    if query:
        queryset = queryset.filter(description__icontains=query)
    if id:
        queryset = queryset.filter(pk__in=id)
    if exclude_id:
        queryset = queryset.exclude(pk__in=exclude_id)
    if organization_id:
        queryset = queryset.filter(organization_id__in=organization_id)
    return queryset


def benefit_get(*, organization, id) -> Benefit | None:
    return Benefit.objects.filter(organization=organization, deleted_at__isnull=True, pk=id).first()


def benefit_grant_list(
    *, organization, customer=None, benefit=None, is_granted: bool | None = None, subscription_id=None, order_id=None
):
    queryset = BenefitGrant.objects.filter(organization=organization).select_related("customer", "benefit")
    if customer is not None:
        queryset = queryset.filter(customer=customer)
    if benefit is not None:
        queryset = queryset.filter(benefit=benefit)
    if subscription_id is not None:
        queryset = queryset.filter(subscription_id=subscription_id)
    if order_id is not None:
        queryset = queryset.filter(order_id=order_id)
    if is_granted is True:
        queryset = queryset.filter(granted_at__isnull=False, revoked_at__isnull=True)
    elif is_granted is False:
        queryset = queryset.filter(Q(granted_at__isnull=True) | Q(revoked_at__isnull=False))
    return queryset


def benefit_grants_active(*, customer=None, customer_ids=None):
    """The active (granted, not revoked) grants of a customer, or of several by id (for the customer
    state endpoint and meter credits), with their benefits."""
    grants = BenefitGrant.objects.filter(granted_at__isnull=False, revoked_at__isnull=True)
    grants = grants.filter(customer_id__in=list(customer_ids)) if customer_ids is not None else grants.filter(customer=customer)
    return grants.select_related("benefit").order_by("granted_at", "pk")


def meter_credit_grants_active(*, customer=None, customer_ids=None):
    """Active meter_credit grants of a customer (or of several, by id): each credits
    ``benefit.properties["units"]`` of ``benefit.meter`` per period (``rollover`` says whether unused
    credit carries over)."""
    grants = benefit_grants_active(customer=customer, customer_ids=customer_ids)
    return grants.filter(benefit__type=Benefit.Type.METER_CREDIT).select_related("benefit__meter")
