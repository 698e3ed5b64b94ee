"""``manage.py ledger_check``: verify every invariant of the ledger (payouts/checks.py, docs/ledger.md),
print each breach and exit 1 if there is any. The count is kept for the ``polar_ledger_breaches`` gauge."""

from django.core.management.base import BaseCommand, CommandError

from payouts.checks import ledger_check_record


class Command(BaseCommand):
    help = "Verify the ledger's invariants; print every breach and exit 1 if there is any."

    def handle(self, *args, **options):
        breaches = ledger_check_record()
        for breach in breaches:
            self.stdout.write(str(breach))
        self.stdout.write(f"ledger check: {len(breaches)} breach(es)")
        if breaches:
            raise CommandError(f"{len(breaches)} ledger breach(es)")
