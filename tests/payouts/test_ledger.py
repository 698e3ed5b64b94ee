"""The ledger's invariants: balanced, immutable entries, enforced by PostgreSQL as well as by ledger_post."""

import uuid

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from payouts.ledger import LedgerUnbalanced, Line, accounts_for, ledger_post, merchant_account_key, platform_fees_key
from payouts.models import LedgerEntry, LedgerTransaction
from payouts.selectors import account_balance, merchant_balances
from tests.factories import OrganizationFactory

CLEARING = "processor:sandbox:clearing"


def _payment_lines(organization_id, amount=1000, currency="usd"):
    return [
        Line(CLEARING, amount, currency),
        Line(merchant_account_key(organization_id, "merchant_pending"), -(amount - 80), currency),
        Line(platform_fees_key(), -80, currency),
    ]


@pytest.mark.django_db
def test_post_writes_balanced_entries_and_balances_read_from_them():
    organization = OrganizationFactory()
    row, created = ledger_post(
        idempotency_key="t:1", kind="payment", lines=_payment_lines(organization.id), organization_id=organization.id
    )
    assert created is True
    assert sorted(row.entries.values_list("amount", flat=True)) == [-920, -80, 1000]
    assert account_balance(key=CLEARING, currency="usd") == 1000
    assert account_balance(key=platform_fees_key(), currency="usd") == 80
    assert merchant_balances(organization_id=organization.id) == {
        "usd": {"pending": 920, "available": 0, "reserve": 0, "in_transit": 0, "debt": 0}
    }


@pytest.mark.django_db
def test_post_is_idempotent_by_key():
    organization = OrganizationFactory()
    first, _ = ledger_post(idempotency_key="t:2", kind="payment", lines=_payment_lines(organization.id))
    again, created = ledger_post(idempotency_key="t:2", kind="payment", lines=_payment_lines(organization.id))
    assert (again.pk, created) == (first.pk, False)
    assert LedgerEntry.objects.count() == 3


@pytest.mark.django_db
def test_unbalanced_posting_is_refused_in_python():
    with pytest.raises(LedgerUnbalanced):
        ledger_post(
            idempotency_key="t:3", kind="payment", lines=[Line(CLEARING, 100, "usd"), Line(platform_fees_key(), -99, "usd")]
        )
    with pytest.raises(LedgerUnbalanced):  # balanced in sum, not per currency
        ledger_post(
            idempotency_key="t:3", kind="payment", lines=[Line(CLEARING, 100, "usd"), Line(platform_fees_key(), -100, "eur")]
        )
    assert LedgerTransaction.objects.count() == 0


def _posted_entry():
    organization = OrganizationFactory()
    row, _ = ledger_post(idempotency_key=f"t:{uuid.uuid4()}", kind="payment", lines=_payment_lines(organization.id))
    return row.entries.first()


@pytest.mark.django_db
def test_database_refuses_update_of_an_entry():
    entry = _posted_entry()
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE payouts_ledgerentry SET amount = amount + 1 WHERE id = %s", [entry.id])
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(currency="eur")


@pytest.mark.django_db
def test_database_refuses_delete_of_an_entry():
    entry = _posted_entry()
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM payouts_ledgerentry WHERE id = %s", [entry.id])
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def _insert_unbalanced(cursor):
    accounts = accounts_for([CLEARING, platform_fees_key()])
    transaction_id = uuid.uuid4()
    cursor.execute(
        "INSERT INTO payouts_ledgertransaction (id, idempotency_key, kind, description, created_at) VALUES (%s, %s, 'adjustment', '', now())",
        [transaction_id, f"raw:{transaction_id}"],
    )
    cursor.execute(
        "INSERT INTO payouts_ledgerentry (transaction_id, account_id, amount, currency, created_at) VALUES (%s, %s, 100, 'usd', now()), (%s, %s, -99, 'usd', now())",
        [transaction_id, accounts[CLEARING].id, transaction_id, accounts[platform_fees_key()].id],
    )
    return transaction_id


@pytest.mark.django_db
def test_database_refuses_unbalanced_transaction_when_its_constraints_are_checked():
    # Inside the test's wrapping transaction the deferred trigger would only run at a commit that never
    # comes: ask PostgreSQL to check now, as the commit would.
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic(), connection.cursor() as cursor:
        _insert_unbalanced(cursor)
        cursor.execute("SET CONSTRAINTS payouts_ledgerentry_balanced IMMEDIATE")


@pytest.mark.django_db(transaction=True)
def test_database_refuses_commit_of_an_unbalanced_transaction():
    with pytest.raises(IntegrityError, match="does not balance"):
        with transaction.atomic(), connection.cursor() as cursor:
            _insert_unbalanced(cursor)
    assert LedgerTransaction.objects.filter(kind="adjustment").count() == 0
    # A balanced one written the same raw way commits.
    accounts = accounts_for([CLEARING, platform_fees_key()])
    with transaction.atomic(), connection.cursor() as cursor:
        transaction_id = uuid.uuid4()
        cursor.execute(
            "INSERT INTO payouts_ledgertransaction (id, idempotency_key, kind, description, created_at) VALUES (%s, 'raw:ok', 'adjustment', '', now())",
            [transaction_id],
        )
        cursor.execute(
            "INSERT INTO payouts_ledgerentry (transaction_id, account_id, amount, currency, created_at) VALUES (%s, %s, 100, 'usd', now()), (%s, %s, -100, 'usd', now())",
            [transaction_id, accounts[CLEARING].id, transaction_id, accounts[platform_fees_key()].id],
        )
    assert LedgerTransaction.objects.filter(kind="adjustment").count() == 1


_amounts = st.integers(min_value=-(10**9), max_value=10**9).filter(lambda n: n != 0)


class TestPostingsProperty(HypothesisTestCase):
    """Any list of lines that balances per currency posts; any that does not is refused; replays write
    nothing; the sum over every account is always zero per currency."""

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.lists(
            st.tuples(
                st.sampled_from([CLEARING, platform_fees_key(), "processor:sandbox:fees"]),
                _amounts,
                st.sampled_from(["usd", "eur"]),
            ),
            min_size=1,
            max_size=6,
        ),
        st.booleans(),
    )
    def test_postings(self, raw_lines, balance_it):
        lines = [Line(key, amount, currency) for key, amount, currency in raw_lines]
        if balance_it:
            for currency in {line.currency for line in lines}:
                total = sum(line.amount for line in lines if line.currency == currency)
                if total:
                    lines.append(Line(CLEARING, -total, currency))
        balanced = all(sum(x.amount for x in lines if x.currency == c) == 0 for c in {x.currency for x in lines})
        key = f"h:{uuid.uuid4()}"
        if balanced:
            ledger_post(idempotency_key=key, kind="adjustment", lines=lines)
            _, created = ledger_post(idempotency_key=key, kind="adjustment", lines=lines)
            assert created is False
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS payouts_ledgerentry_balanced IMMEDIATE")
                cursor.execute("SET CONSTRAINTS payouts_ledgerentry_balanced DEFERRED")
        else:
            with pytest.raises(LedgerUnbalanced):
                ledger_post(idempotency_key=key, kind="adjustment", lines=lines)
        with connection.cursor() as cursor:
            cursor.execute("SELECT currency, SUM(amount) FROM payouts_ledgerentry GROUP BY currency HAVING SUM(amount) <> 0")
            assert cursor.fetchall() == []
