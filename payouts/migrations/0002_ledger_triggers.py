"""The ledger's two invariants, kept by PostgreSQL itself (not only by ``ledger_post``):

1. Entries are immutable: a row trigger refuses every UPDATE and DELETE on ``payouts_ledgerentry``.
   (TRUNCATE is left to the test harness' flush; no code of ours truncates.)
2. Every transaction balances per currency: a constraint trigger, DEFERRABLE INITIALLY DEFERRED, runs
   at commit for each inserted entry and refuses the commit if that entry's transaction does not sum
   to zero in some currency.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION payouts_ledgerentry_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are immutable: % refused on entry %', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER payouts_ledgerentry_immutable
    BEFORE UPDATE OR DELETE ON payouts_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION payouts_ledgerentry_immutable();

CREATE FUNCTION payouts_ledgertransaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced record;
BEGIN
    SELECT currency, SUM(amount) AS total INTO unbalanced
      FROM payouts_ledgerentry
     WHERE transaction_id = NEW.transaction_id
     GROUP BY currency
    HAVING SUM(amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: % % left over',
            NEW.transaction_id, unbalanced.total, unbalanced.currency
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER payouts_ledgerentry_balanced
    AFTER INSERT ON payouts_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION payouts_ledgertransaction_balanced();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS payouts_ledgerentry_balanced ON payouts_ledgerentry;
DROP FUNCTION IF EXISTS payouts_ledgertransaction_balanced();
DROP TRIGGER IF EXISTS payouts_ledgerentry_immutable ON payouts_ledgerentry;
DROP FUNCTION IF EXISTS payouts_ledgerentry_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("payouts", "0001_ledger")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
