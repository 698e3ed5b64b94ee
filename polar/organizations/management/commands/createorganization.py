import json

from django.core.management.base import BaseCommand, CommandError

from polar.audit import system_actor
from polar.errors import PolarError
from polar.organizations.services import access_token_create, organization_get_or_create


class Command(BaseCommand):
    help = (
        "Create the organization with this slug if it is missing, always mint a new access token, "
        'and print {"organization_id", "slug", "token"} as one JSON object.'
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default=None)
        parser.add_argument("--comment", default="createorganization")

    def handle(self, *args, slug, name, comment, **options):
        try:
            with system_actor("createorganization"):
                organization, _created = organization_get_or_create(slug=slug, name=name)
                _token, raw = access_token_create(organization=organization, comment=comment)
        except PolarError as error:
            raise CommandError(error.detail) from error
        self.stdout.write(json.dumps({"organization_id": str(organization.id), "slug": organization.slug, "token": raw}))
