"""``manage.py meter_rollups``: bring the hourly meter rollups up to date (``--rebuild`` from the first event),
or ``--check`` them against the raw aggregation (exit 1 on a difference). docs/events.md."""

from django.core.management.base import BaseCommand, CommandError

from billing.models import Meter
from billing.usage.rollups import meter_rollup_check, meter_rollup_refresh


class Command(BaseCommand):
    help = "Refresh, rebuild or check the hourly meter rollups."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="Delete and rebuild each meter's rollup.")
        parser.add_argument("--check", action="store_true", help="Compare the rollups with the raw events.")
        parser.add_argument("--meter", action="append", default=[], help="Only this meter id (repeatable).")

    def handle(self, *args, rebuild=False, check=False, meter=(), **options):
        meters = Meter.objects.filter(archived_at__isnull=True).order_by("pk")
        if meter:
            meters = meters.filter(pk__in=meter)
        differences = 0
        for row in meters:
            if check:
                found = meter_rollup_check(meter=row)
                differences += len(found)
                for item in found:
                    self.stdout.write(
                        f"{row.id} {item['hour'].isoformat()}: raw {item['raw_events']} events, rollup {item['rollup_events']}"
                    )
            else:
                written = meter_rollup_refresh(meter=row, rebuild=rebuild)
                self.stdout.write(f"{row.id} {row.name}: {written} rollup rows written")
        if check:
            self.stdout.write(f"{differences} difference(s)")
            if differences:
                raise CommandError("The rollups differ from the raw events: run `manage.py meter_rollups --rebuild`.")
