"""Beat's schedule lives in django-celery-beat's tables so staff can see and pause it in the admin.

``settings.CELERY_BEAT_SCHEDULE`` is the code's list of periodic tasks; ``periodic_tasks_sync`` writes it
there (``manage.py sync_periodic_tasks``, run by ``make demo`` and ``make migrate`` and on every deploy).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

from celery import schedules
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

# Rows written from settings carry this description; rows without it belong to staff and are never touched.
MANAGED_DESCRIPTION = "Managed by settings.CELERY_BEAT_SCHEDULE (manage.py sync_periodic_tasks)."


class ScheduleNotSupported(ValueError):
    pass


@dataclass
class SyncResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # Names in settings that a staff-created row already uses: left alone, reported.
    conflicts: list[str] = field(default_factory=list)


def _schedule_fields(schedule) -> dict:
    if isinstance(schedule, (int, float)):
        schedule = timedelta(seconds=schedule)
    if isinstance(schedule, timedelta):
        schedule = schedules.schedule(run_every=schedule)
    if isinstance(schedule, schedules.crontab):
        row = CrontabSchedule.from_schedule(schedule)
        if row.pk is None:
            row.save()
        return {"interval": None, "crontab": row, "solar": None, "clocked": None}
    if isinstance(schedule, schedules.schedule):
        row = IntervalSchedule.from_schedule(schedule)
        if row.pk is None:
            row.save()
        return {"interval": row, "crontab": None, "solar": None, "clocked": None}
    raise ScheduleNotSupported(f"Unsupported schedule {schedule!r}: use a timedelta, seconds or a crontab.")


def _desired_fields(entry: dict) -> dict:
    options = entry.get("options", {})
    return {
        "task": entry["task"],
        "args": json.dumps(list(entry.get("args", ()))),
        "kwargs": json.dumps(dict(entry.get("kwargs", {})), sort_keys=True),
        "queue": options.get("queue"),
        "exchange": options.get("exchange"),
        "routing_key": options.get("routing_key"),
        "priority": options.get("priority"),
        "expire_seconds": options.get("expires") if isinstance(options.get("expires"), int) else None,
        **_schedule_fields(entry["schedule"]),
    }


@transaction.atomic
def periodic_tasks_sync(*, schedule: dict) -> SyncResult:
    """Make the managed PeriodicTask rows match ``schedule`` (a CELERY_BEAT_SCHEDULE-shaped dict).

    Idempotent: a second run with the same schedule changes nothing. Creates missing entries (enabled),
    updates the task, arguments, options and schedule of changed ones but keeps their ``enabled`` flag
    (a task staff paused stays paused across deploys), and deletes managed rows no longer in settings.
    Rows staff created (without the managed description) are never changed or deleted. Locks the managed
    rows so that two deploys running at once apply one after the other.
    """
    result = SyncResult()
    existing = {row.name: row for row in PeriodicTask.objects.select_for_update().filter(name__in=list(schedule))}
    for name, entry in sorted(schedule.items()):
        desired = _desired_fields(entry)
        row = existing.get(name)
        if row is None:
            PeriodicTask.objects.create(name=name, description=MANAGED_DESCRIPTION, enabled=True, **desired)
            result.created.append(name)
        elif row.description != MANAGED_DESCRIPTION:
            result.conflicts.append(name)
        elif any(getattr(row, key) != value for key, value in desired.items()):
            for key, value in desired.items():
                setattr(row, key, value)
            # save() (not update()) so django-celery-beat's signal tells a running beat to reload.
            row.save()
            result.updated.append(name)
        else:
            result.unchanged.append(name)
    stale = PeriodicTask.objects.select_for_update().filter(description=MANAGED_DESCRIPTION).exclude(name__in=list(schedule))
    for row in stale.order_by("pk"):
        result.removed.append(row.name)
        row.delete()
    return result
