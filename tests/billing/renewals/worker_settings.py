"""Settings for the real Celery worker the killed-worker test starts: tasks really go through Redis,
and an unacknowledged message of a killed worker becomes visible again after 2 s (not 1 h).

With ``RENEWALS_CRASH_POINT=<checkpoint name>:<marker file>`` in its environment (set by the test, for
the first worker only), the worker's pool process installs a hook at that renewal checkpoint
(``billing.renewals.cycle.CHECKPOINT_HOOKS``): it writes the marker file and blocks, so the test can
SIGKILL the worker at a known point. Production code has no such hook."""

import os
import pathlib
import time

from celery.signals import worker_process_init

from polar.settings.test import *  # noqa: F401,F403

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2, "unacked_restore_interval": 1, "unacked_restore_throttle": 1}

_CRASH_POINT = os.environ.get("RENEWALS_CRASH_POINT", "")


def _stop_at_crash_point(name: str) -> None:
    point, marker = _CRASH_POINT.split(":", 1)
    if name == point:
        pathlib.Path(marker).write_text(str(os.getpid()))
        time.sleep(600)  # killed here by the test


@worker_process_init.connect(weak=False)
def _install_crash_point(**kwargs) -> None:
    if _CRASH_POINT:
        from billing.renewals import cycle

        cycle.CHECKPOINT_HOOKS.append(_stop_at_crash_point)
