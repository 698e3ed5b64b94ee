"""Database helpers shared by the batch paths.

``values_insert()``: Django 5.2 sends a PostgreSQL ``bulk_create`` as ``INSERT ... SELECT * FROM
UNNEST(%s::type[], ...)``. With psycopg's client-side binding (Django's default) each array is
escaped in Python, element by element; for arrays of JSON documents (order pricing inputs, webhook
payloads, audit diffs) that escaping costs more than the insert itself (measured: ~1 s of a 4.5 s
profile of 200 batched renewals). Inside ``with values_insert():`` bulk inserts use the plain
multi-row ``VALUES (...), (...)`` form instead, whose JSON parameters psycopg quotes in C.
"""

import contextlib
import contextvars

from django.db.backends.postgresql import compiler as _pg_compiler
from django.db.models.sql.compiler import SQLInsertCompiler as _BaseInsertCompiler

_values_insert = contextvars.ContextVar("polar_values_insert", default=False)


_unnest_assemble_as_sql = _pg_compiler.SQLInsertCompiler.assemble_as_sql


def _assemble_as_sql(self, fields, value_rows):
    if _values_insert.get():
        return _BaseInsertCompiler.assemble_as_sql(self, fields, value_rows)
    return _unnest_assemble_as_sql(self, fields, value_rows)


# Installed once, when this module is first imported; outside ``values_insert()`` nothing changes
# (tests/polar/test_db.py checks both forms, so a Django upgrade that moves this hook is noticed).
_pg_compiler.SQLInsertCompiler.assemble_as_sql = _assemble_as_sql


@contextlib.contextmanager
def values_insert():
    """Bulk inserts in this block (this thread or task only) use ``VALUES`` rows, not ``UNNEST`` arrays."""
    token = _values_insert.set(True)
    try:
        yield
    finally:
        _values_insert.reset(token)


def bulk_update_rows(objs, fields: list[str]) -> int:
    """Write ``fields`` of already-saved ``objs`` (one model) in one ``UPDATE ... FROM (VALUES ...)``.

    What ``QuerySet.bulk_update`` does, without its per-row ``CASE WHEN pk = ...`` expressions (which
    cost more to build than the update takes to run for a batch of renewals). Like ``bulk_update`` it
    sends no signals and calls no ``save()``: callers that write money rows record their audit entries
    with ``polar.audit.audit_log_many``. Returns the number of rows updated.
    """
    from django.db import connections, router

    objs = list(objs)
    if not objs:
        return 0
    model = type(objs[0])
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    targets = [pk, *columns]
    casts = [field.db_type(connection) for field in targets]
    row_sql = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
    params = []
    for obj in objs:
        for field in targets:
            params.append(field.get_db_prep_save(getattr(obj, field.attname), connection))
    names = ", ".join(quote(f"v_{field.column}") for field in targets)
    assignments = ", ".join(f"{quote(field.column)} = v.{quote('v_' + field.column)}" for field in columns)
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} FROM (VALUES {', '.join([row_sql] * len(objs))}) AS v({names})"
        f" WHERE t.{quote(pk.column)} = v.{quote('v_' + pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
