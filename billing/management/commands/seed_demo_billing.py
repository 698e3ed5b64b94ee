"""``manage.py seed_demo_billing [--organization SLUG]``: three months of renewals, usage and a plan change
for the demo (see ``billing.demo``). Idempotent."""

import json

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Seed a metered demo subscription with three months of history through run_billing (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--organization", default="demo", help="Slug of the demo organization (created if missing).")

    def handle(self, *args, **options):
        from billing.demo import seed_demo_billing
        from polar.audit import system_actor

        with system_actor("seed_demo_billing"):
            result = seed_demo_billing(organization_slug=options["organization"])
        self.stdout.write(json.dumps(result))
