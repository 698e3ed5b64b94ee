from polar import clock

from .models import OrganizationAccessToken, hash_token


def access_token_get_by_raw(*, raw_token: str) -> OrganizationAccessToken | None:
    """The token for this raw value, with its organization, or None. Validity is the caller's check."""
    return OrganizationAccessToken.objects.select_related("organization").filter(token_hash=hash_token(raw_token)).first()


def access_tokens_active(*, organization):
    now = clock.now()
    return OrganizationAccessToken.objects.filter(organization=organization, revoked_at__isnull=True).exclude(expires_at__lte=now)


def organization_list(*, organization, slug: str | None = None):
    """An organization token sees its own organization only."""
    from .models import Organization

    queryset = Organization.objects.filter(pk=organization.pk)
    if slug is not None:
        queryset = queryset.filter(slug=slug)
    return queryset


def organization_get(*, organization, id):
    return organization_list(organization=organization).filter(pk=id).first()
