"""Reading license keys, always scoped to one organization."""

from billing.models import LicenseKey


def license_key_list(*, organization, benefit_id=None, organization_id=None, status=None):
    queryset = LicenseKey.objects.filter(organization=organization).select_related("customer")
    if status:
        queryset = queryset.filter(status__in=status)
    if benefit_id:
        queryset = queryset.filter(benefit_id__in=benefit_id)
    if organization_id:
        queryset = queryset.filter(organization_id__in=organization_id)
    return queryset


def license_key_get(*, organization, id) -> LicenseKey | None:
    return license_key_list(organization=organization).prefetch_related("activations").filter(pk=id).first()


def license_key_grant_source(key: LicenseKey):
    """The subscription or the order whose benefit grant issued ``key``: ``(subscription, order)``,
    either or both None (a key granted by hand, or a grant without a source)."""
    from billing.models import Order, Subscription

    grant = key.grant
    if grant is None:
        return None, None
    subscription = Subscription.objects.filter(pk=grant.subscription_id).first() if grant.subscription_id else None
    order = Order.objects.filter(pk=grant.order_id).first() if grant.order_id else None
    return subscription, order
