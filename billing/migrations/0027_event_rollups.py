"""Organization-wide event rollups (billing/usage/event_rollups.py, docs/events.md): costs per UTC hour and cost
currency; who was active in which UTC hours (per who and UTC month); distinct active users per UTC day; a state row
per organization with the watermark (events ingested before it are in the rollups). And the meter rollup summed
over customers per meter and hour (billing/usage/rollups.py), for whole-meter reads.

No foreign keys, as for the meter rollups (0022): derived data, rebuilt from the events, and a key would stop
Django's flush of the managed tables in transactional tests."""

from django.db import migrations

CREATE = """
CREATE TABLE billing_event_cost_rollup (
    organization_id uuid NOT NULL,
    hour timestamptz NOT NULL,
    cost_currency text,
    events bigint NOT NULL,
    cost_events bigint NOT NULL,
    cost_sum numeric,
    CONSTRAINT billing_event_cost_rollup_key UNIQUE NULLS NOT DISTINCT (organization_id, hour, cost_currency)
);
CREATE TABLE billing_event_activity (
    organization_id uuid NOT NULL,
    month timestamptz NOT NULL,
    who text NOT NULL,
    hours tstzmultirange NOT NULL,
    CONSTRAINT billing_event_activity_key PRIMARY KEY (organization_id, month, who)
);
CREATE INDEX billing_event_activity_who ON billing_event_activity (organization_id, who, month);
CREATE TABLE billing_event_activity_day (
    organization_id uuid NOT NULL,
    day timestamptz NOT NULL,
    active_users bigint NOT NULL,
    CONSTRAINT billing_event_activity_day_key PRIMARY KEY (organization_id, day)
);
-- The meter rollup summed over customers, per meter and hour: a whole meter's month is ~720 rows.
CREATE TABLE billing_meter_rollup_hour (
    meter_id uuid NOT NULL,
    hour timestamptz NOT NULL,
    events bigint NOT NULL,
    value_count bigint NOT NULL,
    value_sum numeric,
    value_min numeric,
    value_max numeric,
    CONSTRAINT billing_meter_rollup_hour_key PRIMARY KEY (meter_id, hour)
);
CREATE TABLE billing_event_rollup_state (
    organization_id uuid PRIMARY KEY,
    watermark timestamptz NOT NULL,
    rebuilt_at timestamptz NOT NULL
);
"""

DROP = """
DROP TABLE IF EXISTS billing_event_rollup_state;
DROP TABLE IF EXISTS billing_meter_rollup_hour;
DROP TABLE IF EXISTS billing_event_activity_day;
DROP TABLE IF EXISTS billing_event_activity;
DROP TABLE IF EXISTS billing_event_cost_rollup;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0026_approval_requests"),
    ]

    operations = [
        # migration-safe: new tables only; old code never reads them
        migrations.RunSQL(CREATE, reverse_sql=DROP),
    ]
