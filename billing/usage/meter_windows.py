"""Meter quantities for many (customer, window) pairs in one query per meter: the subscriptions' ``meters``
field of a page of subscriptions, whose periods all differ (``billing.subscriptions.payloads``)."""

import datetime as dt
from decimal import Decimal

from django.db import connection
from psycopg import sql

from billing.usage.sql import compile_aggregation, compile_filter


def meter_quantity_by_window(*, meter, windows: list[tuple]) -> list[Decimal]:
    """``windows`` is ``[(customer, start, end), ...]``; returns each window's quantity, in order, counting
    the same events as ``meter_quantity`` (linked to the customer, or not linked yet and carrying its
    external id; ``start <= timestamp < end``). One grouped query over an unnest of the windows."""
    if not windows:
        return []
    filter_sql, filter_params = compile_filter(meter.filter)
    aggregate_sql, aggregate_params = compile_aggregation(meter.aggregation)
    query = sql.SQL(
        "SELECT w.i, COALESCE({aggregate}, 0) FROM billing_event e"
        " JOIN unnest({ids}::uuid[], {externals}::text[], {starts}::timestamptz[], {ends}::timestamptz[], {indexes}::int[])"
        " AS w(customer_id, external_id, start_at, end_at, i)"
        " ON (e.customer_id = w.customer_id OR (e.customer_id IS NULL AND e.external_customer_id = w.external_id))"
        ' AND e."timestamp" >= w.start_at AND e."timestamp" < w.end_at'
        " WHERE e.organization_id = {organization} AND ({filter}) GROUP BY w.i"
    ).format(
        aggregate=aggregate_sql,
        ids=sql.Placeholder(),
        externals=sql.Placeholder(),
        starts=sql.Placeholder(),
        ends=sql.Placeholder(),
        indexes=sql.Placeholder(),
        organization=sql.Placeholder(),
        filter=filter_sql,
    )
    params = [
        *aggregate_params,
        [customer.id for customer, _start, _end in windows],
        [customer.external_id for customer, _start, _end in windows],
        [start.astimezone(dt.UTC) for _customer, start, _end in windows],
        [end.astimezone(dt.UTC) for _customer, _start, end in windows],
        list(range(len(windows))),
        meter.organization_id,
        *filter_params,
    ]
    quantities = [Decimal(0)] * len(windows)
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(connection.connection), params)
        rows = cursor.fetchall()
    for index, value in rows:
        quantities[index] = Decimal(value or 0)
    return quantities
