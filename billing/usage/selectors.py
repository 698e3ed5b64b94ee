"""Reads of usage: events, meters, meter quantities and customer meters. Always scoped to an organization.

Quantities are computed in SQL over the partitioned events table (one statement per request) with the
meter's filter and aggregation compiled by ``usage_sql`` into parameterised SQL.
"""

import datetime as dt
import functools
import uuid
import zoneinfo
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Max, Min, Q
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform
from psycopg import sql

from billing.models import CustomerMeter, Event, EventType, Meter
from billing.usage import rollups
from billing.usage.customer_meter_amounts import customer_meter_amounts_attach
from billing.usage.customer_meter_periods import customer_meter_periods, subscriptions_by_customer_meter
from billing.usage.sql import compile_aggregation, compile_filter
from customers.models import Customer
from polar import clock
from polar.errors import PolarRequestValidationError

INTERVALS = {
    "hour": dt.timedelta(hours=1),
    "day": dt.timedelta(days=1),
    "week": dt.timedelta(weeks=1),
    "month": dt.timedelta(days=28),
    "year": dt.timedelta(days=365),
}
MAX_BUCKETS = 10_000


# --- events ---------------------------------------------------------------------------------------------------


def event_list(
    *,
    organization,
    customer_ids=None,
    external_customer_ids=None,
    names=None,
    sources=None,
    start_timestamp=None,
    end_timestamp=None,
    metadata=None,
    meter=None,
):
    """Events of the organization, filtered. ``metadata`` is ``{key: value}`` compared as text; ``meter``
    keeps the events its filter matches."""
    queryset = Event.objects.filter(organization_id=organization.id).select_related("customer")
    if customer_ids:
        queryset = queryset.filter(customer_id__in=customer_ids)
    if external_customer_ids:
        # Linked events carry the customer's external id too, so one column answers both cases.
        queryset = queryset.filter(external_customer_id__in=external_customer_ids)
    if names:
        queryset = queryset.filter(name__in=names)
    if sources:
        queryset = queryset.filter(source__in=sources)
    if start_timestamp is not None:
        queryset = queryset.filter(timestamp__gte=start_timestamp)
    if end_timestamp is not None:
        queryset = queryset.filter(timestamp__lt=end_timestamp)
    for index, (key, value) in enumerate((metadata or {}).items()):
        # KeyTextTransform binds the key as a parameter; a key full of "__" is just a key.
        alias = f"_metadata_{index}"
        queryset = queryset.annotate(**{alias: KeyTextTransform(key, "metadata")}).filter(**{alias: value})
    if meter is not None:
        # The meter's compiled filter (bound parameters only) as a semi-join on the event ids.
        filter_sql, filter_params = compile_filter(meter.filter)
        connection.ensure_connection()
        subquery = sql.SQL("SELECT e.id FROM billing_event e WHERE e.organization_id = %s AND ({})").format(filter_sql)
        queryset = queryset.filter(id__in=RawSQL(subquery.as_string(connection.connection), [organization.id, *filter_params]))
    return queryset


def event_get(*, organization, id):
    return event_list(organization=organization).filter(id=id).first()


def event_name_list(
    *, organization, customer_ids=None, external_customer_ids=None, sources=None, query=None, root_events=False, parent_id=None
):
    """Distinct event names of the organization (one row per name and source) with their counts and the
    first and last time seen: ``values`` rows of name, source, occurrences, first_seen, last_seen."""
    queryset = event_list(
        organization=organization, customer_ids=customer_ids, external_customer_ids=external_customer_ids, sources=sources
    ).select_related(None)
    if query:
        queryset = queryset.filter(name__icontains=query)
    if root_events:
        queryset = queryset.filter(parent_id__isnull=True)
    if parent_id is not None:
        queryset = queryset.filter(parent_id=parent_id)
    return (
        queryset.order_by()
        .values("name", "source")
        .annotate(occurrences=Count("id"), first_seen=Min("timestamp"), last_seen=Max("timestamp"))
    )


def event_types_by_name(*, organization) -> dict:
    """The organization's labelled event types, by event name."""
    return {row.name: row for row in EventType.objects.filter(organization=organization)}


# --- meters ---------------------------------------------------------------------------------------------------


def meter_list(*, organization, query=None, is_archived=None, ids=None, metadata=None):
    queryset = Meter.objects.filter(organization=organization)
    if query:
        queryset = queryset.filter(name__icontains=query)
    if is_archived is not None:
        queryset = queryset.filter(archived_at__isnull=not is_archived)
    if ids:
        queryset = queryset.filter(id__in=ids)
    for index, (key, value) in enumerate((metadata or {}).items()):
        alias = f"_metadata_{index}"
        queryset = queryset.annotate(**{alias: KeyTextTransform(key, "metadata")}).filter(**{alias: value})
    return queryset


def meter_get(*, organization, id):
    return Meter.objects.filter(organization=organization, id=id).first()


# --- quantities -----------------------------------------------------------------------------------------------


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(name: str, loc) -> str:
    if name not in _time_zones():
        raise PolarRequestValidationError.single(loc, "Unknown IANA time zone", "value_error")
    return name


def _customer_condition(*, organization, customer_ids=None, external_customer_ids=None):
    """SQL matching events of the given customers, linked or not yet linked (by external id)."""
    customer_ids = {uuid.UUID(str(value)) for value in customer_ids or ()}
    external_ids = set(external_customer_ids or ())
    if not customer_ids and not external_ids:
        return None, []
    customers = Customer.objects.filter(organization=organization).filter(
        Q(id__in=customer_ids) | Q(external_id__in=external_ids)
    )
    for customer_id, external_id in customers.values_list("id", "external_id"):
        customer_ids.add(customer_id)
        if external_id:
            external_ids.add(external_id)
    return (
        sql.SQL(
            "(e.customer_id = ANY({}::uuid[]) OR (e.customer_id IS NULL AND e.external_customer_id = ANY({}::text[])))"
        ).format(sql.Placeholder(), sql.Placeholder()),
        [sorted(customer_ids), sorted(external_ids)],
    )


def _execute(query: sql.Composable, params):
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(connection.connection), params)
        return cursor.fetchall()


def meter_quantities(
    *,
    organization,
    meter,
    start_timestamp: dt.datetime,
    end_timestamp: dt.datetime,
    interval: str,
    timezone: str = "UTC",
    customer_ids=None,
    external_customer_ids=None,
) -> dict:
    """``{"quantities": [{"timestamp", "quantity"}], "total"}`` for events in ``[start, end)``.

    Buckets start at local boundaries in ``timezone`` (``generate_series`` over local timestamps, converted
    back with ``AT TIME ZONE``), so a day is 23 or 25 hours across a DST change. The first bucket is the one
    containing ``start_timestamp``; the last is the one containing the instant before ``end_timestamp``.
    Empty buckets are 0. ``total`` aggregates the whole range (so ``avg``/``unique``/``max`` are right,
    not sums of buckets). One SQL statement; read-only, no locks.
    """
    if end_timestamp <= start_timestamp:
        raise PolarRequestValidationError.single(
            ["query", "end_timestamp"], "end_timestamp must be after start_timestamp", "value_error"
        )
    if (end_timestamp - start_timestamp) / INTERVALS[interval] > MAX_BUCKETS:
        raise PolarRequestValidationError.single(
            ["query", "interval"], f"At most {MAX_BUCKETS} buckets: choose a longer interval", "value_error"
        )
    filter_sql, filter_params = compile_filter(meter.filter)
    aggregate_sql, aggregate_params = compile_aggregation(meter.aggregation)
    customer_sql, customer_params = _customer_condition(
        organization=organization, customer_ids=customer_ids, external_customer_ids=external_customer_ids
    )
    step = {"hour": "1 hour", "day": "1 day", "week": "1 week", "month": "1 month", "year": "1 year"}[interval]
    query = sql.SQL(
        """
        WITH buckets AS (
            SELECT (local_start AT TIME ZONE {tz1}) AS bucket_start
            FROM generate_series(
                date_trunc({unit1}, {start1}::timestamptz AT TIME ZONE {tz2}),
                ({end1}::timestamptz - interval '1 microsecond') AT TIME ZONE {tz3},
                {step}::interval
            ) AS local_start
        ),
        grouped AS (
            SELECT date_trunc({unit2}, e."timestamp", {tz4}) AS bucket_start, {aggregate} AS quantity
            FROM billing_event e
            WHERE e.organization_id = {organization}
              AND e."timestamp" >= {start2} AND e."timestamp" < {end2}
              AND ({filter}) {customer}
            GROUP BY GROUPING SETS ((date_trunc({unit3}, e."timestamp", {tz5})), ())
        )
        SELECT b.bucket_start, COALESCE(g.quantity, 0), 0 AS is_total
        FROM buckets b LEFT JOIN grouped g ON g.bucket_start = b.bucket_start
        UNION ALL
        SELECT NULL, COALESCE((SELECT quantity FROM grouped WHERE bucket_start IS NULL), 0), 1
        ORDER BY 3, 1
        """
    ).format(
        tz1=sql.Placeholder(),
        unit1=sql.Placeholder(),
        start1=sql.Placeholder(),
        tz2=sql.Placeholder(),
        end1=sql.Placeholder(),
        tz3=sql.Placeholder(),
        step=sql.Placeholder(),
        unit2=sql.Placeholder(),
        tz4=sql.Placeholder(),
        aggregate=aggregate_sql,
        organization=sql.Placeholder(),
        start2=sql.Placeholder(),
        end2=sql.Placeholder(),
        filter=filter_sql,
        customer=sql.SQL("AND {}").format(customer_sql) if customer_sql is not None else sql.SQL(""),
        unit3=sql.Placeholder(),
        tz5=sql.Placeholder(),
    )
    params = [
        timezone,
        interval,
        start_timestamp,
        timezone,
        end_timestamp,
        timezone,
        step,
        interval,
        timezone,
        *aggregate_params,
        organization.id,
        start_timestamp,
        end_timestamp,
        *filter_params,
        *customer_params,
        interval,
        timezone,
    ]
    # The same rows from the hourly rollup plus the raw tail when it can answer (billing/usage/rollups.py).
    rows = rollups.quantities(
        meter=meter, start=start_timestamp, end=end_timestamp, interval=interval, timezone=timezone,
        customer_sql=customer_sql, customer_params=customer_params,
    )  # fmt: skip
    rows = _execute(query, params) if rows is None else rows
    quantities = [{"timestamp": row[0], "quantity": row[1]} for row in rows if row[2] == 0]
    total = next(row[1] for row in rows if row[2] == 1)
    return {"quantities": quantities, "total": total}


def meter_quantity(*, meter, customer, start: dt.datetime, end: dt.datetime) -> Decimal:
    """The meter's aggregate for one customer's events in ``[start, end)`` (count/sum/max/min/avg/unique).

    What billing reads at a cutoff (renewals, usage invoices). Events ingested under the customer's external id
    before the customer existed are included even if not linked yet. Read-only; 0 when there are no events.
    """
    filter_sql, filter_params = compile_filter(meter.filter)
    aggregate_sql, aggregate_params = compile_aggregation(meter.aggregation)
    customer_sql, customer_params = _customer_condition(organization=meter.organization, customer_ids=[customer.id])
    rolled = rollups.quantity(meter=meter, start=start, end=end, customer_sql=customer_sql, customer_params=customer_params)
    if rolled is not None:
        return rolled
    query = sql.SQL(
        "SELECT COALESCE({aggregate}, 0) FROM billing_event e WHERE e.organization_id = {organization}"
        ' AND e."timestamp" >= {start} AND e."timestamp" < {end} AND ({filter}) AND {customer}'
    ).format(
        aggregate=aggregate_sql,
        organization=sql.Placeholder(),
        start=sql.Placeholder(),
        end=sql.Placeholder(),
        filter=filter_sql,
        customer=customer_sql,
    )
    rows = _execute(query, [*aggregate_params, meter.organization_id, start, end, *filter_params, *customer_params])
    return Decimal(rows[0][0])


def meter_quantity_by_customer(*, meter, customers, start: dt.datetime, end: dt.datetime) -> dict[uuid.UUID, Decimal]:
    """``meter_quantity`` for several customers of the meter's organization in one grouped query (the
    renewal batch): per customer the same events (linked to it, or not linked yet and carrying its
    external id) and the same aggregate. Customers with no events are absent (their quantity is 0)."""
    customers = list(customers)
    if not customers:
        return {}
    ids = [c.id for c in customers]
    external_ids, owners = [c.external_id for c in customers if c.external_id], [c.id for c in customers if c.external_id]
    customer_sql = sql.SQL(
        "(e.customer_id = ANY({}::uuid[]) OR (e.customer_id IS NULL AND e.external_customer_id = ANY({}::text[])))"
    ).format(sql.Placeholder(), sql.Placeholder())
    # Through the hourly rollup plus the raw tail and the partial hours at the period's edges when it can answer.
    rows = rollups.quantity_by_customer(
        meter=meter, start=start, end=end, customer_sql=customer_sql, customer_params=[ids, external_ids],
        external_ids=external_ids, external_owners=owners,
    )  # fmt: skip
    if rows is None:
        filter_sql, filter_params = compile_filter(meter.filter)
        aggregate_sql, aggregate_params = compile_aggregation(meter.aggregation)
        query = sql.SQL(
            "SELECT COALESCE(e.customer_id, x.customer_id) AS who, COALESCE({aggregate}, 0) FROM billing_event e"
            " LEFT JOIN unnest({external_ids}::text[], {external_owners}::uuid[]) AS x(external_id, customer_id)"
            " ON e.customer_id IS NULL AND e.external_customer_id = x.external_id"
            ' WHERE e.organization_id = {organization} AND e."timestamp" >= {start} AND e."timestamp" < {end}'
            " AND ({filter}) AND {customer} GROUP BY 1"
        ).format(
            aggregate=aggregate_sql,
            external_ids=sql.Placeholder(),
            external_owners=sql.Placeholder(),
            organization=sql.Placeholder(),
            start=sql.Placeholder(),
            end=sql.Placeholder(),
            filter=filter_sql,
            customer=customer_sql,
        )
        params = [*aggregate_params, external_ids, owners, meter.organization_id, start, end, *filter_params, ids, external_ids]
        rows = _execute(query, params)
    return {who: Decimal(value) for who, value in rows if who is not None}


# --- customer meters --------------------------------------------------------------------------------------------


def current_period(*, now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The calendar month (UTC) containing ``now``: the default period of a customer meter."""
    now = (now or clock.now()).astimezone(dt.UTC)
    start = dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC)
    end = dt.datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=dt.UTC)
    return start, end


def _customer_meter_period_and_subscription(*, customer_id, meter, now=None):
    """The period a customer meter shows and the subscription it comes from (None: the calendar month);
    ``customer_meter_periods`` answers the same for a whole list in one query."""
    sub = subscriptions_by_customer_meter(customer_ids=[customer_id], meter_ids=[meter.id]).get((customer_id, meter.id))
    if sub and sub["current_period_start"] and sub["current_period_end"]:
        return (sub["current_period_start"], sub["current_period_end"]), sub["id"]
    return current_period(now=now), None


def customer_meter_period(*, customer_id, meter, now=None) -> tuple[dt.datetime, dt.datetime]:
    """The period whose usage a customer meter shows: the current period of the customer's active
    subscription that bills this meter, else the calendar month (UTC)."""
    return _customer_meter_period_and_subscription(customer_id=customer_id, meter=meter, now=now)[0]


def meter_credit_grants_by_customer(*, customer_ids) -> dict[tuple[uuid.UUID, uuid.UUID], tuple[int, int]]:
    """Per (customer id, meter id): the units granted per period by the customer's active (granted,
    not revoked) meter_credit benefit grants on that meter, and how many of those roll over when
    unused (``rollover: true``). One query for any number of customers."""
    from billing.benefits.selectors import meter_credit_grants_active

    totals: dict[tuple[uuid.UUID, uuid.UUID], list[int]] = {}
    for grant in meter_credit_grants_active(customer_ids=customer_ids):
        if grant.benefit.meter_id is None:
            continue
        properties = grant.benefit.properties or {}
        units = int(properties.get("units") or 0)
        total = totals.setdefault((grant.customer_id, grant.benefit.meter_id), [0, 0])
        total[0] += units
        if properties.get("rollover"):
            total[1] += units
    return {key: (granted, rollover) for key, (granted, rollover) in totals.items()}


def meter_credit_grants(*, customer, meter_id) -> tuple[int, int]:
    """``meter_credit_grants_by_customer`` for one customer and meter: (granted, of which roll over)."""
    return meter_credit_grants_by_customer(customer_ids=[customer.id]).get((customer.id, meter_id), (0, 0))


def credit_carried_out(line: dict) -> int:
    """The rollover rule, applied to one stored metered line: whole units of credit that were not used
    in the line's period and may roll over: ``floor(min(max(credited − units, 0), rollover_units))``.

    Credit that cannot roll over is used first, so what is left over is rollover credit whenever
    there is some. Credit carried in keeps rolling over while it is not used."""
    rollover = Decimal(str(line.get("rollover_units") or 0))
    if rollover <= 0:
        return 0
    unused = max(Decimal(str(line.get("credited_units") or 0)) - Decimal(str(line.get("units") or 0)), Decimal(0))
    return int(min(unused, rollover))


def meter_credit_carried_in(*, subscription_id, meter_id, period_start, order=None, price_meters: dict | None = None) -> int:
    """Unused rollover credit carried into the period that starts at ``period_start``: read from the
    subscription's cycle order cut at that instant (its metered lines for the period that ended then).

    ``order`` and ``price_meters`` (price id → meter id) may be passed by a caller that read them
    already (the renewal batch); otherwise they are read here."""
    from billing.models import Order, OrderBillingReason, ProductPrice

    if order is None:
        order = (
            Order.objects.filter(
                subscription_id=subscription_id, billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE, period_start=period_start
            )
            .only("pricing_inputs")
            .first()
        )
    if order is None:
        return 0
    from billing.pricing import Period

    lines = [
        line
        for line in (order.pricing_inputs or {}).get("lines") or ()
        if line.get("rollover_units") and line.get("period") and Period.from_dict(line["period"]).end == period_start
    ]
    if not lines:
        return 0
    price_ids = {line["price"]["price_id"] for line in lines}
    if price_meters is None or not price_ids <= set(price_meters):
        price_meters = {str(pk): m for pk, m in ProductPrice.objects.filter(pk__in=price_ids).values_list("id", "meter_id")}
    return sum(credit_carried_out(line) for line in lines if price_meters.get(line["price"]["price_id"]) == meter_id)


def customer_meter_credited_units(*, customer, meter_id, period=None, subscription_id=None) -> int:
    """Units credited to the customer on this meter for a period: the units of every active
    meter_credit grant on the meter, plus the unused rollover credit carried into the period of
    ``subscription_id`` that starts at ``period[0]`` (``meter_credit_carried_in``). Renewals bill usage
    less these units, and customer meters show them."""
    granted, _rollover = meter_credit_grants(customer=customer, meter_id=meter_id)
    if subscription_id is not None and period is not None:
        granted += meter_credit_carried_in(subscription_id=subscription_id, meter_id=meter_id, period_start=period[0])
    return granted


def customer_state_meters(*, customer, now=None) -> list[dict]:
    """The customer's meters in Polar's CustomerStateMeter shape (for ``GET /v1/customers/{id}/state``)."""
    rows = customer_meter_list(organization=customer.organization, customer_ids=[customer.id], now=now, with_amounts=False)
    return [
        {
            "id": str(row.id),
            "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
            "modified_at": row.modified_at.isoformat().replace("+00:00", "Z") if row.modified_at else None,
            "meter_id": str(row.meter_id),
            "consumed_units": float(row.units.consumed),
            "credited_units": row.units.credited,
            "balance": float(row.units.balance),
        }
        for row in rows
    ]


def _consumed_by_customer(*, organization, meter, start, end, customer_ids=None) -> dict[uuid.UUID, Decimal]:
    """Consumed units per linked customer for one meter over ``[start, end)``: one grouped query.

    With ``customer_ids`` the query stays on the per-customer index (the entitlement-check case)."""
    filter_sql, filter_params = compile_filter(meter.filter)
    aggregate_sql, aggregate_params = compile_aggregation(meter.aggregation)
    if customer_ids is not None:
        customers_sql, customers_params = (
            sql.SQL("e.customer_id = ANY({}::uuid[])").format(sql.Placeholder()),
            [sorted(customer_ids)],
        )
    else:
        customers_sql, customers_params = sql.SQL("e.customer_id IS NOT NULL"), []
    query = sql.SQL(
        "SELECT e.customer_id, {aggregate} FROM billing_event e WHERE e.organization_id = {organization}"
        ' AND e."timestamp" >= {start} AND e."timestamp" < {end} AND {customers} AND ({filter})'
        " GROUP BY e.customer_id"
    ).format(
        aggregate=aggregate_sql,
        organization=sql.Placeholder(),
        start=sql.Placeholder(),
        end=sql.Placeholder(),
        customers=customers_sql,
        filter=filter_sql,
    )
    rows = _execute(query, [*aggregate_params, organization.id, start, end, *customers_params, *filter_params])
    return {customer_id: Decimal(value or 0) for customer_id, value in rows}


class CustomerMeterUnits:
    """What a customer meter shows for its period; attached to a CustomerMeter row as ``units``."""

    __slots__ = ("consumed", "credited", "period_start", "period_end")

    def __init__(self, *, consumed: Decimal, credited: int, period_start, period_end):
        self.consumed, self.credited = consumed, credited
        self.period_start, self.period_end = period_start, period_end

    @property
    def balance(self) -> Decimal:
        return Decimal(self.credited) - self.consumed


def customer_meter_units(*, customer_meter, now=None) -> CustomerMeterUnits:
    """Consumed and credited units of one customer meter for its current period (the plug-in point)."""
    (start, end), subscription_id = _customer_meter_period_and_subscription(
        customer_id=customer_meter.customer_id, meter=customer_meter.meter, now=now
    )
    consumed = meter_quantity(meter=customer_meter.meter, customer=customer_meter.customer, start=start, end=end)
    credited = customer_meter_credited_units(
        customer=customer_meter.customer, meter_id=customer_meter.meter_id, period=(start, end), subscription_id=subscription_id
    )
    return CustomerMeterUnits(consumed=consumed, credited=credited, period_start=start, period_end=end)


def customer_meter_list(
    *, organization, customer_ids=None, external_customer_ids=None, meter_ids=None, now=None, with_amounts: bool = True
):
    """Customer meters of the organization with their units, as a list of CustomerMeter rows (``.units`` set).

    A customer meter exists for each (customer, non-archived meter) with matching events in the current
    period, plus any pair listed before. Rows are created on first sight (``ON CONFLICT DO NOTHING``: safe
    under concurrent reads) so each pair keeps a stable id. Consumed units come from one grouped query per
    meter.
    """
    meters = list(meter_list(organization=organization, is_archived=False, ids=meter_ids))
    start, end = current_period(now=now)
    customer_filter = None
    if customer_ids or external_customer_ids:
        customer_filter = set(
            Customer.objects.filter(organization=organization)
            .filter(Q(id__in=list(customer_ids or ())) | Q(external_id__in=list(external_customer_ids or ())))
            .values_list("id", flat=True)
        )
    consumed: dict[tuple[uuid.UUID, uuid.UUID], Decimal] = {}
    for meter in meters:
        if customer_filter is not None and not customer_filter:
            break
        for customer_id, value in _consumed_by_customer(
            organization=organization, meter=meter, start=start, end=end, customer_ids=customer_filter
        ).items():
            consumed[(customer_id, meter.id)] = value
    if consumed:
        CustomerMeter.objects.bulk_create(
            [
                CustomerMeter(organization=organization, customer_id=customer_id, meter_id=meter_id)
                for customer_id, meter_id in consumed
            ],
            ignore_conflicts=True,
        )
    rows = CustomerMeter.objects.filter(organization=organization, meter__in=meters).select_related("customer", "meter")
    if customer_filter is not None:
        rows = rows.filter(customer_id__in=customer_filter)
    rows = list(rows.order_by("-created_at", "id"))
    # Periods and credits of all rows in two queries (rollover credit is read per metered-subscription row).
    periods = customer_meter_periods(rows=rows, default=(start, end))
    grants = meter_credit_grants_by_customer(customer_ids={row.customer_id for row in rows}) if rows else {}
    for row in rows:
        period, subscription_id = periods[row.pk]
        if period == (start, end):
            value = consumed.get((row.customer_id, row.meter_id), Decimal(0))
        else:
            value = meter_quantity(meter=row.meter, customer=row.customer, start=period[0], end=period[1])
        credited = grants.get((row.customer_id, row.meter_id), (0, 0))[0] + (
            meter_credit_carried_in(subscription_id=subscription_id, meter_id=row.meter_id, period_start=period[0])
            if subscription_id is not None
            else 0
        )
        row.units = CustomerMeterUnits(consumed=value, credited=credited, period_start=period[0], period_end=period[1])
    if with_amounts:  # the running amount (customer_meter_amounts): the customer state does not show it
        customer_meter_amounts_attach(rows)
    return rows


def customer_meter_get(*, organization, id, now=None):
    row = CustomerMeter.objects.filter(organization=organization, id=id).select_related("customer", "meter").first()
    if row is not None:
        row.units = customer_meter_units(customer_meter=row, now=now)
        customer_meter_amounts_attach([row])
    return row
