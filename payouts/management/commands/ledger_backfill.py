"""``manage.py ledger_backfill [--dry-run]``: post the payments and refunds that succeeded before the ledger
existed (``payouts/backfill.py``). Idempotent: a second run posts nothing. Run ``ledger_check`` after it."""

from django.core.management.base import BaseCommand

from payouts.backfill import ledger_backfill
from polar.audit import system_actor


class Command(BaseCommand):
    help = "Post ledger transactions for payments and refunds made before the ledger existed."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be posted; write nothing.")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, dry_run=False, batch_size=500, **options):
        with system_actor("manage.py ledger_backfill"):
            result = ledger_backfill(dry_run=dry_run, batch_size=batch_size)
        verb = "would post" if dry_run else "posted"
        self.stdout.write(
            f"ledger backfill: {verb} {result.payments} payment(s) ({result.payments_amount} minor units) "
            f"and {result.refunds} refund(s) ({result.refunds_amount} minor units)"
        )
