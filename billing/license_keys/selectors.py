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
