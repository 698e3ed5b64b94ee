import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from polar.audit import system_actor
from polar.errors import PolarError
from polar.organizations.models import ORGANIZATION_RATE_LIMIT_SCOPES, Organization
from polar.organizations.services import organization_rate_limits_set


class Command(BaseCommand):
    help = (
        "Show or change an organization's own API rate limits (docs/security.md). "
        "--set ingest_events=20000/minute replaces the setting for its tokens; --set token=off lifts one; "
        "--clear SCOPE returns to the setting. Prints the effective limits as JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--set", action="append", default=[], metavar="SCOPE=RATE", dest="set_rates")
        parser.add_argument("--clear", action="append", default=[], metavar="SCOPE")

    def handle(self, *args, slug, set_rates, clear, **options):
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"no organization with slug {slug!r}")
        changes: dict[str, str | None] = {scope: None for scope in clear}
        for item in set_rates:
            scope, separator, rate = item.partition("=")
            if not separator:
                raise CommandError(f"--set takes SCOPE=RATE, got {item!r}")
            changes[scope.strip()] = rate
        if changes:
            try:
                with system_actor("organization_rate_limits"):
                    organization = organization_rate_limits_set(organization=organization, changes=changes)
            except PolarError as error:
                raise CommandError(error.detail) from error
        own = organization.rate_limits or {}
        effective = {
            scope: {"rate": own.get(scope, settings.RATE_LIMITS.get(scope)), "own": scope in own}
            for scope in ORGANIZATION_RATE_LIMIT_SCOPES
        }
        self.stdout.write(json.dumps({"slug": organization.slug, "rate_limits": effective}))
