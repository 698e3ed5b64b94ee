"""``manage.py event_rollups``: bring the organizations' costs and activity rollups up to date (``--rebuild`` from
the first event), or ``--check`` them against the raw aggregation (exit 1 on a difference). docs/events.md."""

from django.core.management.base import BaseCommand, CommandError

from billing.usage.event_rollups import event_rollup_check, event_rollup_refresh
from polar.organizations.models import Organization


class Command(BaseCommand):
    help = "Refresh, rebuild or check the costs and activity rollups of the events."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="Delete and rebuild each organization's rollups.")
        parser.add_argument("--check", action="store_true", help="Compare the rollups with the raw events.")
        parser.add_argument("--organization", action="append", default=[], help="Only this organization id (repeatable).")

    def handle(self, *args, rebuild=False, check=False, organization=(), **options):
        organizations = Organization.objects.order_by("pk")
        if organization:
            organizations = organizations.filter(pk__in=organization)
        differences = 0
        for row in organizations:
            if check:
                found = event_rollup_check(organization_id=row.id)
                differences += len(found)
                for item in found:
                    at = item["at"].isoformat() if item["at"] else "-"
                    self.stdout.write(
                        f"{row.id} {item['rollup']} {at} {item['what'] or ''}: raw {item['raw']}, rollup {item['rollup_value']}"
                    )
            else:
                written = event_rollup_refresh(organization_id=row.id, rebuild=rebuild)
                self.stdout.write(f"{row.id} {row.slug}: {written} rollup rows written")
        if check:
            self.stdout.write(f"{differences} difference(s)")
            if differences:
                raise CommandError("The event rollups differ from the raw events: run `manage.py event_rollups --rebuild`.")
