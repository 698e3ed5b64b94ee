"""Settings for the real Celery worker of the graceful-shutdown test: tasks go through Redis, and with
``SHUTDOWN_SLOW_POINT=<checkpoint>:<marker file>`` the pool process pauses at that renewal checkpoint (writes the
marker, sleeps a few seconds, then goes on), so the test can SIGTERM the worker while the task runs."""

import os
import pathlib
import time

from celery.signals import worker_process_init

from polar.settings.test import *  # noqa: F401,F403

CELERY_TASK_ALWAYS_EAGER = False
# A message left unacknowledged would come back after 2 s, within the test's wait: a lost ack shows up as a
# second run.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2, "unacked_restore_interval": 1, "unacked_restore_throttle": 1}

_SLOW_POINT = os.environ.get("SHUTDOWN_SLOW_POINT", "")
PAUSE_SECONDS = 4


def _pause_at(name: str) -> None:
    point, marker = _SLOW_POINT.split(":", 1)
    if name == point:
        pathlib.Path(marker).write_text(str(os.getpid()))
        time.sleep(PAUSE_SECONDS)


@worker_process_init.connect(weak=False)
def _install_pause(**kwargs) -> None:
    if _SLOW_POINT:
        from billing.renewals import cycle

        cycle.CHECKPOINT_HOOKS.append(_pause_at)
