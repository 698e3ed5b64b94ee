"""``manage.py billing_verify [--organization SLUG]``: recompute every order from the inputs it stored.

Each order's ``pricing_inputs`` goes back through ``billing.pricing.price``; the totals and every line
(label, amount, discount, tax, price, period) must equal what was written. Mismatches are printed
and the command exits 1.
"""

from django.core.management.base import BaseCommand, CommandError

from billing.renewals.verify import orders_verify


class Command(BaseCommand):
    help = "Recompute every order from its stored pricing inputs and report mismatches (exit 1 if any)."

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="Only this organization's orders (slug).")

    def handle(self, *args, **options):
        checked, mismatches = orders_verify(organization_slug=options.get("organization"))
        for line in mismatches:
            self.stdout.write(line)
        self.stdout.write(f"{checked} orders checked, {len(mismatches)} mismatch(es)")
        if mismatches:
            raise CommandError(f"{len(mismatches)} order mismatch(es)")
