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


@signals.before_task_publish.connect
def _stamp_published_at(headers=None, **kwargs):
    """The publish time in the message's headers: /metrics reports the age of the oldest waiting task from it
    (polar/observability/queues.py)."""
    import time

    from polar.observability.queues import PUBLISHED_AT_HEADER

    if headers is not None:
        headers.setdefault(PUBLISHED_AT_HEADER, time.time())


@signals.worker_init.connect
def _serve_worker_metrics(**kwargs):
    from polar.observability import worker_metrics

    worker_metrics.clear_files()
    worker_metrics.serve()


@signals.worker_process_shutdown.connect
def _forget_pool_process(pid=None, **kwargs):
    from polar.observability import worker_metrics

    worker_metrics.mark_dead(pid or os.getpid())


@signals.worker_process_init.connect
def _start_tracing_in_pool_process(**kwargs):
    """Tracing per pool process (prefork): the exporter's thread and connections must not be shared across a
    fork. Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (polar/observability/tracing.py)."""
    from polar.observability import tracing

    tracing.setup("polar-worker")


@signals.worker_init.connect
def _start_tracing_in_main_process(sender=None, **kwargs):
    """Solo and thread pools run tasks in the main process, which gets no worker_process_init."""
    from celery.concurrency import get_implementation

    from polar.observability import tracing

    pool = getattr(sender, "pool_cls", None) or "prefork"
    if not get_implementation(pool).__module__.endswith(".prefork"):
        tracing.setup("polar-worker")
