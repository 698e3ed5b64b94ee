"""Celery queues split by kind (``CELERY_SPLIT_QUEUES``, docs/scaling.md): each task goes to the queue of its
kind, read from the router of a process started with the setting; without it every task shares one queue.
The Redis queue gauges (polar/observability/queues.py) follow the routes."""

import json
import os
import subprocess
import sys

from django.conf import settings as django_settings

TASKS = [
    "billing.tasks.renewals_sweep",
    "billing.tasks.subscription_cycle_batch",
    "billing.tasks.subscription_cycle",
    "billing.tasks.late_usage_after_end",
    "polar.webhooks.tasks.webhook_endpoint_deliver",
    "polar.webhooks.tasks.webhooks_sweep",
    "payouts.tasks.ledger_check",
    "billing.tasks.order_receipt_send",
    "polar.api.tasks.idempotency_keys_prune",
]

SCRIPT = """
import json, sys
import django
django.setup()
from polar.celery import app
from polar.observability.queues import queue_names
routes = {name: app.amqp.router.route({}, name)["queue"].name for name in sys.argv[1:]}
print(json.dumps({"routes": routes, "gauged": queue_names()}))
"""


def _routes(split: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "polar.settings.test", "CELERY_SPLIT_QUEUES": split}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *TASKS],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_split_queues_route_each_kind_of_task_to_its_queue():
    answer = _routes("1")
    assert answer["routes"] == {
        "billing.tasks.renewals_sweep": "renewals",
        "billing.tasks.subscription_cycle_batch": "renewals",
        "billing.tasks.subscription_cycle": "renewals",
        "billing.tasks.late_usage_after_end": "renewals",
        "polar.webhooks.tasks.webhook_endpoint_deliver": "webhooks",
        "polar.webhooks.tasks.webhooks_sweep": "webhooks",
        "payouts.tasks.ledger_check": "ledger",
        "billing.tasks.order_receipt_send": "celery",
        "polar.api.tasks.idempotency_keys_prune": "celery",
    }
    assert answer["gauged"] == ["celery", "ledger", "renewals", "webhooks"]


def test_without_the_setting_every_task_shares_one_queue():
    answer = _routes("0")
    assert set(answer["routes"].values()) == {"celery"}
    assert answer["gauged"] == ["celery"]
