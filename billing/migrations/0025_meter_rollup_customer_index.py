"""One customer's rollup rows by hour (``meter_quantity`` for a customer reads them): without it the read scans
every customer's rows of the meter over the range."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0024_customer_seats"),
    ]

    operations = [
        # migration-safe: a new index on a derived table (small next to the events); old code never reads it
        migrations.RunSQL(
            "CREATE INDEX billing_meter_rollup_customer ON billing_meter_rollup (meter_id, customer_id, hour);"
            " CREATE INDEX billing_meter_rollup_external ON billing_meter_rollup (meter_id, external_customer_id, hour)"
            " WHERE customer_id IS NULL;",
            reverse_sql="DROP INDEX IF EXISTS billing_meter_rollup_customer; DROP INDEX IF EXISTS billing_meter_rollup_external;",
        ),
    ]
