"""Hourly meter rollups (billing/usage/rollups.py, docs/events.md): per meter, hour, customer and external customer,
the event count and the partial aggregates of the meter's value; a state row per meter with the watermark (events
ingested before it are in the rollup) and the definition it was built for. Plus the index the incremental refresh
reads new events by.

No foreign key to billing_meter (as billing_event has none): the tables are derived data, rebuilt from the
events, and a key would stop Django's flush of the managed tables (TRUNCATE) in transactional tests. Meters are
archived, never deleted."""

from django.db import migrations

CREATE = """
CREATE TABLE billing_meter_rollup (
    meter_id uuid NOT NULL,
    hour timestamptz NOT NULL,
    customer_id uuid,
    external_customer_id varchar(256),
    events bigint NOT NULL,
    value_count bigint NOT NULL,
    value_sum numeric,
    value_min numeric,
    value_max numeric,
    CONSTRAINT billing_meter_rollup_key UNIQUE NULLS NOT DISTINCT (meter_id, hour, customer_id, external_customer_id)
);
CREATE TABLE billing_meter_rollup_state (
    meter_id uuid PRIMARY KEY,
    definition jsonb NOT NULL,
    watermark timestamptz NOT NULL,
    rebuilt_at timestamptz NOT NULL
);
CREATE INDEX billing_event_org_ingested ON billing_event (organization_id, ingested_at);
"""

DROP = """
DROP INDEX IF EXISTS billing_event_org_ingested;
DROP TABLE IF EXISTS billing_meter_rollup_state;
DROP TABLE IF EXISTS billing_meter_rollup;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0021_custom_fields"),
    ]

    operations = [
        # migration-safe: new tables and a new index only; old code never reads them
        migrations.RunSQL(CREATE, reverse_sql=DROP),
    ]
