"""``manage.py run_billing [--now ISO-8601]``: every time-driven billing step, synchronously, as of an instant.

Operators use it to catch up after an outage (a subscription three periods behind gets three
cycles); tests and the demo use it to move through months. Idempotent: a second run with the same
``--now`` finds nothing due and changes nothing. The steps are ``billing.scheduler.TIME_DRIVEN_STEPS``.
"""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from polar import clock


def parse_instant(value: str) -> dt.datetime:
    try:
        instant = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise CommandError(f"--now must be an ISO-8601 datetime, got {value!r}") from exc
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    return instant.astimezone(dt.UTC)


class Command(BaseCommand):
    help = "Run renewals, payment reconciliation and every other time-driven billing step as of --now."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="The instant to run at (ISO 8601; UTC when no offset). Default: now.")

    def handle(self, *args, **options):
        from billing.scheduler import billing_run

        now = parse_instant(options["now"]) if options.get("now") else clock.now()
        from polar.audit import system_actor

        with system_actor("run_billing"):
            summary = billing_run(now=now)
        self.stdout.write(json.dumps({"now": now.isoformat(), **summary}, default=str, sort_keys=True))
        errors = summary.get("renewals", {}).get("errors") or []
        if errors:
            raise CommandError(f"{len(errors)} subscription(s) could not be renewed: " + "; ".join(errors))
