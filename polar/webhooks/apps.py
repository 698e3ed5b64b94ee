from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "polar.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from auditlog.registry import auditlog

        from polar.observability.metrics import SCRAPE_COLLECTORS

        # Register the tasks in every process, not only in workers: services send them by name
        # (polar/webhooks/enqueue.py), and an eager run (tests) needs the task registered to run it here.
        from . import tasks  # noqa: F401
        from .metrics import webhooks_state

        if webhooks_state not in SCRAPE_COLLECTORS:
            SCRAPE_COLLECTORS.append(webhooks_state)

        from . import models

        # Endpoints decide where merchant data is sent: audited. The secret is kept out of the diffs; the
        # lease and health counters change on every attempt and are telemetry, not changes of access.
        auditlog.register(
            models.WebhookEndpoint,
            exclude_fields=[
                "secret",
                "lease_token",
                "lease_expires_at",
                "failing_since",
                "consecutive_failures",
                "last_success_at",
            ],
        )
