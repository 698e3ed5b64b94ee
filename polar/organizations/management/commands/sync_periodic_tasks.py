from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from polar.organizations.periodic_tasks import ScheduleNotSupported, periodic_tasks_sync


class Command(BaseCommand):
    help = (
        "Write settings.CELERY_BEAT_SCHEDULE into django-celery-beat's periodic tasks: create missing ones, "
        "update changed ones (keeping their enabled flag), remove managed ones no longer in settings. "
        "Tasks created by staff in the admin are never touched."
    )

    def handle(self, *args, **options):
        try:
            result = periodic_tasks_sync(schedule=settings.CELERY_BEAT_SCHEDULE)
        except ScheduleNotSupported as error:
            raise CommandError(str(error)) from error
        for label in ("created", "updated", "unchanged", "removed"):
            names = getattr(result, label)
            if names:
                self.stdout.write(f"{label}: {', '.join(names)}")
        for name in result.conflicts:
            self.stderr.write(f"skipped {name}: a periodic task with this name was created by staff")
        if not any((result.created, result.updated, result.unchanged, result.removed, result.conflicts)):
            self.stdout.write("no periodic tasks in settings")
