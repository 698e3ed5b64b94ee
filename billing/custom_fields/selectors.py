"""Reading custom fields, always scoped to one organization (deleted fields are gone)."""

from __future__ import annotations

from django.db.models import Q

from billing.models import CustomField


def custom_field_list(*, organization, organization_id=None, query=None, type=None):
    """The organization's live custom fields, filtered as Polar's ``GET /v1/custom-fields/``."""
    queryset = CustomField.objects.filter(organization=organization, deleted_at__isnull=True)
    if organization_id and organization.id not in organization_id:
        return queryset.none()
    if query:
        queryset = queryset.filter(Q(name__icontains=query) | Q(slug__icontains=query))
    if type:
        queryset = queryset.filter(type__in=type)
    return queryset


def custom_field_get(*, organization, id) -> CustomField | None:
    return custom_field_list(organization=organization).filter(pk=id).first()
