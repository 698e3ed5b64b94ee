import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from polar.organizations.demo import demo_seed


class Command(BaseCommand):
    help = (
        "Seed the demo merchant (organization 'demo', a staff superuser, an API token and whatever other apps "
        "add in their demo.py). Idempotent: a second run creates nothing and prints the same token."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--data-dir",
            default=None,
            help="Where the demo token and admin password are kept (default: settings.POLAR_DATA_DIR).",
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print one JSON object instead of text.")

    def handle(self, *args, data_dir, as_json: bool, **options):
        seed = demo_seed(data_dir=Path(data_dir or settings.POLAR_DATA_DIR))
        result = seed.as_dict()
        if as_json:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(f"organization  {result['slug']} ({result['organization_id']})")
        self.stdout.write(f"API token     {result['token']}")
        self.stdout.write(f"admin         {result['admin_username']} / {result['admin_password']}")
        created = ", ".join(f"{name}: {count}" for name, count in result["created"].items())
        self.stdout.write(f"rows created  {created}")
