"""``manage.py sync_periodic_tasks``: settings.CELERY_BEAT_SCHEDULE written into django-celery-beat's rows."""

import io
from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from polar.organizations.periodic_tasks import MANAGED_DESCRIPTION, ScheduleNotSupported, periodic_tasks_sync

pytestmark = pytest.mark.django_db

SCHEDULE = {
    "prune": {"task": "polar.api.tasks.idempotency_keys_prune", "schedule": timedelta(hours=1)},
    "nightly": {
        "task": "billing.tasks.nightly",
        "schedule": crontab(hour="3", minute="15"),
        "kwargs": {"limit": 100},
        "options": {"queue": "billing"},
    },
}


def test_command_writes_every_task_from_settings(settings):
    settings.CELERY_BEAT_SCHEDULE = SCHEDULE
    out = io.StringIO()
    call_command("sync_periodic_tasks", stdout=out)
    assert out.getvalue().strip() == "created: nightly, prune"
    prune = PeriodicTask.objects.get(name="prune")
    assert prune.task == "polar.api.tasks.idempotency_keys_prune"
    assert (prune.interval.every, prune.interval.period) == (3600, IntervalSchedule.SECONDS)
    assert prune.enabled is True and prune.description == MANAGED_DESCRIPTION
    nightly = PeriodicTask.objects.get(name="nightly")
    assert (nightly.crontab.hour, nightly.crontab.minute, nightly.interval) == ("3", "15", None)
    assert (nightly.kwargs, nightly.queue) == ('{"limit": 100}', "billing")


def test_the_real_settings_schedule_syncs():
    result = periodic_tasks_sync(schedule=django_settings.CELERY_BEAT_SCHEDULE)
    assert "prune-idempotency-keys" in result.created
    assert PeriodicTask.objects.get(name="prune-idempotency-keys").task == "polar.api.tasks.idempotency_keys_prune"


def test_second_run_changes_nothing():
    periodic_tasks_sync(schedule=SCHEDULE)
    before = {row.name: row.date_changed for row in PeriodicTask.objects.all()}
    result = periodic_tasks_sync(schedule=SCHEDULE)
    assert (result.created, result.updated, result.removed) == ([], [], [])
    assert result.unchanged == ["nightly", "prune"]
    assert {row.name: row.date_changed for row in PeriodicTask.objects.all()} == before


def test_changed_schedule_is_updated_and_a_paused_task_stays_paused():
    periodic_tasks_sync(schedule=SCHEDULE)
    PeriodicTask.objects.filter(name="prune").update(enabled=False)
    changed = {**SCHEDULE, "prune": {**SCHEDULE["prune"], "schedule": timedelta(minutes=5)}}
    result = periodic_tasks_sync(schedule=changed)
    assert result.updated == ["prune"]
    prune = PeriodicTask.objects.get(name="prune")
    assert (prune.interval.every, prune.enabled) == (300, False)


def test_staff_created_tasks_are_never_changed_or_deleted():
    staff_interval = IntervalSchedule.objects.create(every=42, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="staff-report", task="reports.weekly", interval=staff_interval)
    PeriodicTask.objects.create(name="prune", task="staff.own.task", interval=staff_interval)
    result = periodic_tasks_sync(schedule=SCHEDULE)
    assert result.conflicts == ["prune"]
    assert PeriodicTask.objects.get(name="staff-report").task == "reports.weekly"
    assert PeriodicTask.objects.get(name="prune").task == "staff.own.task"


def test_managed_task_removed_from_settings_is_deleted():
    periodic_tasks_sync(schedule=SCHEDULE)
    result = periodic_tasks_sync(schedule={"prune": SCHEDULE["prune"]})
    assert result.removed == ["nightly"]
    assert sorted(PeriodicTask.objects.values_list("name", flat=True)) == ["prune"]


def test_unsupported_schedule_is_refused_and_nothing_is_written():
    with pytest.raises(ScheduleNotSupported):
        periodic_tasks_sync(schedule={**SCHEDULE, "odd": {"task": "x", "schedule": "every tuesday"}})
    assert PeriodicTask.objects.count() == 0
