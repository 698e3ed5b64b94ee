"""The Celery application. Tasks are thin: they take ids and call one service."""

import os

from celery import Celery, signals

# Served processes default to production settings, which refuse to start without their secrets: a forgotten
# variable must not fall back to the public development key. `make demo` sets polar.settings.base itself.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polar.settings.production")

app = Celery("polar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every task runs with an audit actor "system:<task name>" and its ids bound to the structured logs.
_task_contexts: dict[str, object] = {}


@signals.task_prerun.connect
def _enter_task_context(task_id=None, task=None, **kwargs):
    from polar.audit import system_actor
    from polar.observability import context

    context.clear()
    context.bind(task_id=task_id, task_name=task.name, request_id=task_id)
    audit = system_actor(task.name)
    audit.__enter__()
    _task_contexts[task_id] = audit


@signals.task_postrun.connect
def _exit_task_context(task_id=None, **kwargs):
    from polar.observability import context

    audit = _task_contexts.pop(task_id, None)
    if audit is not None:
        audit.__exit__(None, None, None)
    context.clear()
