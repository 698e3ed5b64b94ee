"""Event ingestion: the hot path of usage billing.

``events_ingest`` validates a whole batch in plain Python (no serializer, no ORM per event), resolves the
customers it names with one query per kind of id, then writes every event with ONE SQL statement:

    WITH input AS (SELECT * FROM unnest(<column arrays>)),
         claimed AS (INSERT INTO billing_event_external_id ... ON CONFLICT DO NOTHING RETURNING event_id)
    INSERT INTO billing_event SELECT ... FROM input WHERE external_id IS NULL OR id IN (SELECT event_id FROM claimed)

Idempotency: an ``external_id`` is unique per organization for all time. The guard table
``billing_event_external_id`` (primary key ``(organization_id, external_id)``, not partitioned) is claimed in
the same statement as the insert, so the event and its claim commit together or not at all. Two concurrent
batches with the same id: PostgreSQL makes the second ``ON CONFLICT`` wait for the first transaction, then
skip the row, so the id is stored once and each batch's ``inserted + duplicates`` equals its size.
A repeated id inside one batch keeps its first occurrence and counts the others as duplicates.

Validation is all-or-nothing: any invalid event answers 422 listing every error (up to ``MAX_ERRORS``) with
its ``loc`` (``["body", "events", 7, "timestamp"]``), and nothing is written.
"""

import datetime as dt
import math
import uuid
from decimal import Decimal, InvalidOperation

import orjson
import psycopg
from django.conf import settings
from django.db import connection, transaction

from billing import metrics as billing_metrics
from billing.models import Event, EventType, event_type_id
from billing.usage.event_rollups import event_activity_link
from billing.usage.partitions import ensure_partitions_for, forget_partitions
from billing.usage.rollups import meter_rollups_link
from customers import services as customers_services
from customers.models import Customer
from polar import clock
from polar.errors import PolarRequestValidationError

# Limits, documented in docs/events.md. Settings may override them (EVENTS_* names).
MAX_BATCH_SIZE = getattr(settings, "EVENTS_INGEST_MAX_BATCH_SIZE", 1000)
# How far back a timestamp may go; older usage belongs to an invoice that is already closed.
MAX_EVENT_AGE = getattr(settings, "EVENTS_MAX_AGE", dt.timedelta(days=366))
# Clock skew tolerated between the merchant's servers and ours.
MAX_FUTURE_SKEW = getattr(settings, "EVENTS_MAX_FUTURE_SKEW", dt.timedelta(seconds=5))
MAX_NAME_LENGTH = 128
MAX_ID_LENGTH = 256
# Polar's metadata limits (same as customers): 50 keys, keys up to 40 characters, strings up to 500.
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_STRING_LENGTH = 500
MAX_ERRORS = 100
COST_CURRENCIES = frozenset({"usd"})
# Cost amounts are cents with up to 12 decimal places (fractions of a cent per token are common).
MAX_COST_DECIMAL_PLACES = 12

_LLM_REQUIRED_INT = ("input_tokens", "output_tokens", "total_tokens")
# PostgreSQL text and jsonb cannot hold U+0000: refuse it up front rather than fail the insert.
_NUL_MESSAGE = "Strings must not contain the NUL character (U+0000)"
_LLM_REQUIRED_STR = ("vendor", "model")


class ValidationErrorList:
    """Validation errors collected over a whole input (up to ``MAX_ERRORS``), in the 422 ``detail`` shape;
    false while empty. Event ingestion and meter validation use it."""

    __slots__ = ("items",)

    def __init__(self):
        self.items: list[dict] = []

    def add(self, loc, msg, type_="value_error"):
        if len(self.items) < MAX_ERRORS:
            self.items.append({"loc": loc, "msg": msg, "type": type_})

    def __bool__(self):
        return bool(self.items)


def _is_number(value) -> bool:
    # bool is an int in Python but not a number in JSON.
    return (type(value) is int) or (type(value) is float and math.isfinite(value))


def _parse_timestamp(value, loc, errors, lower, upper):
    if not isinstance(value, str):
        errors.add(loc, "Input should be a valid datetime", "datetime_type")
        return None
    text = value
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        errors.add(loc, "Input should be a valid datetime in ISO 8601 format", "datetime_parsing")
        return None
    if parsed.tzinfo is None:
        # Naive timestamps are read as UTC, as Polar does.
        parsed = parsed.replace(tzinfo=dt.UTC)
    if parsed > upper:
        errors.add(loc, "Timestamp must not be in the future", "value_error")
        return None
    if parsed < lower:
        errors.add(loc, f"Timestamp must not be older than {MAX_EVENT_AGE.days} days", "value_error")
        return None
    return parsed


def _check_cost(value, loc, errors):
    if not isinstance(value, dict):
        errors.add(loc, "_cost must be an object {amount, currency}", "dict_type")
        return
    amount = value.get("amount")
    if amount is None:
        errors.add([*loc, "amount"], "Field required", "missing")
    elif isinstance(amount, bool) or not isinstance(amount, (int, float, str)):
        errors.add([*loc, "amount"], "Amount must be a number of cents (a decimal string is allowed)", "decimal_type")
    else:
        try:
            decimal = Decimal(str(amount))
        except InvalidOperation:
            decimal = None
        if decimal is None or not decimal.is_finite():
            errors.add([*loc, "amount"], "Amount must be a finite decimal number of cents", "decimal_parsing")
        elif decimal.as_tuple().exponent < -MAX_COST_DECIMAL_PLACES:
            errors.add([*loc, "amount"], f"Amount has more than {MAX_COST_DECIMAL_PLACES} decimal places", "decimal_max_places")
        elif abs(decimal) >= Decimal(10) ** 15:
            errors.add([*loc, "amount"], "Amount is too large", "less_than")
    currency = value.get("currency")
    if currency is None:
        errors.add([*loc, "currency"], "Field required", "missing")
    elif not isinstance(currency, str) or currency not in COST_CURRENCIES:
        errors.add([*loc, "currency"], "Currency must be 'usd'", "literal_error")
    for key in value:
        if key not in ("amount", "currency"):
            errors.add([*loc, key], "Extra inputs are not permitted", "extra_forbidden")


def _check_llm(value, loc, errors):
    if not isinstance(value, dict):
        errors.add(loc, "_llm must be an object", "dict_type")
        return
    for key in _LLM_REQUIRED_STR:
        item = value.get(key)
        if not isinstance(item, str) or not item or len(item) > MAX_METADATA_STRING_LENGTH or "\x00" in item:
            errors.add([*loc, key], "Input should be a non-empty string", "string_type")
    for key in (*_LLM_REQUIRED_INT, "cached_input_tokens"):
        item = value.get(key)
        if item is None and key == "cached_input_tokens":
            continue
        if type(item) is not int or item < 0:
            errors.add([*loc, key], "Input should be a non-negative integer", "int_type")
    for key in ("prompt", "response"):
        item = value.get(key)
        if item is not None and (not isinstance(item, str) or "\x00" in item):
            errors.add([*loc, key], "Input should be a valid string", "string_type")
    for key in value:
        if key not in (*_LLM_REQUIRED_STR, *_LLM_REQUIRED_INT, "cached_input_tokens", "prompt", "response"):
            errors.add([*loc, key], "Extra inputs are not permitted", "extra_forbidden")


def check_metadata(metadata, loc, errors, *, allow_structured=True):
    """Polar's metadata limits; values are strings, numbers or booleans (``_cost`` and ``_llm`` are objects)."""
    if not isinstance(metadata, dict):
        errors.add(loc, "Input should be a valid dictionary", "dict_type")
        return
    if len(metadata) > MAX_METADATA_KEYS:
        errors.add(loc, f"Metadata can have at most {MAX_METADATA_KEYS} keys", "too_long")
        return
    for key, value in metadata.items():
        if not key or len(key) > MAX_METADATA_KEY_LENGTH:
            errors.add([*loc, key], f"Keys must be 1 to {MAX_METADATA_KEY_LENGTH} characters", "string_too_long")
            continue
        if "\x00" in key:
            errors.add([*loc, key], _NUL_MESSAGE, "value_error")
            continue
        kind = type(value)
        if kind is str:
            if len(value) > MAX_METADATA_STRING_LENGTH:
                errors.add([*loc, key], f"Strings can be at most {MAX_METADATA_STRING_LENGTH} characters", "string_too_long")
            elif "\x00" in value:
                errors.add([*loc, key], _NUL_MESSAGE, "value_error")
        elif kind is int or kind is bool:
            continue
        elif kind is float:
            if not math.isfinite(value):
                errors.add([*loc, key], "Numbers must be finite", "finite_number")
        elif allow_structured and key == "_cost":
            _check_cost(value, [*loc, key], errors)
        elif allow_structured and key == "_llm":
            _check_llm(value, [*loc, key], errors)
        else:
            errors.add([*loc, key], "Values must be strings, numbers or booleans", "value_error")


def _parse_uuid(value, loc, errors):
    if not isinstance(value, str):
        errors.add(loc, "Input should be a valid UUID", "uuid_type")
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        errors.add(loc, "Input should be a valid UUID", "uuid_parsing")
        return None


def _check_id(value, loc, errors):
    if not isinstance(value, str):
        errors.add(loc, "Input should be a valid string", "string_type")
        return None
    if not value or len(value) > MAX_ID_LENGTH:
        errors.add(loc, f"String should have 1 to {MAX_ID_LENGTH} characters", "string_too_long")
        return None
    if "\x00" in value:
        errors.add(loc, _NUL_MESSAGE, "value_error")
        return None
    return value


# The batch travels as ONE json parameter, unpacked by json_to_recordset in C: no per-row Python adaptation.
# Event ids come from gen_random_uuid(); the `input` CTE is referenced twice, so PostgreSQL materialises it
# and the id claimed in the guard is the id inserted.
_INSERT_SQL = """
WITH input AS (
    SELECT gen_random_uuid() AS id, t.*
    FROM json_to_recordset(%(rows)s::json) AS t(
        "timestamp" timestamptz, name text, customer_id uuid, external_customer_id text,
        external_id text, parent_id text, metadata jsonb
    )
),
claimed AS (
    INSERT INTO billing_event_external_id (organization_id, external_id, event_id, event_timestamp)
    SELECT %(organization_id)s, external_id, id, "timestamp" FROM input WHERE external_id IS NOT NULL
    ON CONFLICT (organization_id, external_id) DO NOTHING
    RETURNING event_id
)
INSERT INTO billing_event
    (id, organization_id, "timestamp", ingested_at, name, source, customer_id, external_customer_id,
     external_id, parent_id, metadata)
SELECT id, %(organization_id)s, "timestamp", %(ingested_at)s, name, 'user', customer_id, external_customer_id,
       external_id, parent_id, COALESCE(metadata, '{}'::jsonb)
FROM input
WHERE external_id IS NULL OR id IN (SELECT event_id FROM claimed)
"""


def events_ingest(*, organization, events) -> dict:
    """Validate and store a batch of user events for ``organization``. Returns ``{"inserted", "duplicates"}``.

    - All-or-nothing: raises ``PolarRequestValidationError`` (422, every error with its ``loc``) and writes
      nothing if any event is invalid, a ``customer_id`` is not this organization's, or the batch is too large.
    - Idempotent by ``external_id`` per organization for all time (guard table, see module docstring);
      no row lock is taken, the guard's primary key serialises concurrent claims of one id.
    - Creates missing monthly partitions for backdated events (advisory-locked SQL function).
    - Emits no webhook: events are usage input, not a resource change.
    """
    errors = ValidationErrorList()
    if not isinstance(events, list):
        raise PolarRequestValidationError.single(["body", "events"], "Input should be a valid list", "list_type")
    if len(events) > MAX_BATCH_SIZE:
        raise PolarRequestValidationError.single(
            ["body", "events"],
            f"A batch can hold at most {MAX_BATCH_SIZE} events; got {len(events)}. Split it into smaller batches.",
            "too_long",
        )
    now = clock.now()
    lower, upper = now - MAX_EVENT_AGE, now + MAX_FUTURE_SKEW
    organization_id = organization.id
    organization_id_text = str(organization_id)

    rows: list[dict] = []
    timestamps: list[dt.datetime] = []
    # index in the batch of each event that names a customer, for error locations
    customer_refs: dict[uuid.UUID, int] = {}
    external_refs: set[str] = set()
    seen_external_ids: set[str] = set()
    duplicates = 0

    for index, event in enumerate(events):
        loc = ["body", "events", index]
        if type(event) is not dict:
            errors.add(loc, "Input should be a valid dictionary or object", "model_type")
            continue
        name = event.get("name")
        if type(name) is not str or not name or len(name) > MAX_NAME_LENGTH or "\x00" in name:
            if name is None:
                errors.add([*loc, "name"], "Field required", "missing")
            else:
                errors.add([*loc, "name"], f"Name must be a string of 1 to {MAX_NAME_LENGTH} characters", "string_type")
        raw_timestamp = event.get("timestamp")
        timestamp = now if raw_timestamp is None else _parse_timestamp(raw_timestamp, [*loc, "timestamp"], errors, lower, upper)
        customer_id = None
        external_customer_id = None
        raw_customer_id = event.get("customer_id")
        raw_external_customer_id = event.get("external_customer_id")
        if raw_customer_id is not None and raw_external_customer_id is not None:
            errors.add([*loc, "customer_id"], "Give either customer_id or external_customer_id, not both", "value_error")
        elif raw_customer_id is not None:
            customer_id = _parse_uuid(raw_customer_id, [*loc, "customer_id"], errors)
            if customer_id is not None:
                customer_refs.setdefault(customer_id, index)
        elif raw_external_customer_id is not None:
            external_customer_id = _check_id(raw_external_customer_id, [*loc, "external_customer_id"], errors)
            if external_customer_id is not None:
                external_refs.add(external_customer_id)
        else:
            errors.add([*loc, "customer_id"], "Field required: customer_id or external_customer_id", "missing")
        raw_organization_id = event.get("organization_id")
        if raw_organization_id is not None and raw_organization_id != organization_id_text:
            errors.add([*loc, "organization_id"], "organization_id must be the organization of the access token", "value_error")
        external_id = event.get("external_id")
        if external_id is not None:
            external_id = _check_id(external_id, [*loc, "external_id"], errors)
        parent_id = event.get("parent_id")
        if parent_id is not None:
            parent_id = _check_id(parent_id, [*loc, "parent_id"], errors)
        metadata = event.get("metadata")
        if metadata is not None:
            check_metadata(metadata, [*loc, "metadata"], errors)
        if errors:
            # Keep validating to report every error, but stop building rows.
            continue
        if external_id is not None:
            if external_id in seen_external_ids:
                duplicates += 1
                continue
            seen_external_ids.add(external_id)
        timestamps.append(timestamp)
        rows.append(
            {
                "timestamp": timestamp,
                "name": name,
                "customer_id": customer_id,
                "external_customer_id": external_customer_id,
                "external_id": external_id,
                "parent_id": parent_id,
                "metadata": metadata,
            }
        )

    if errors:
        billing_metrics.EVENTS_REJECTED.inc(len(events))
        raise PolarRequestValidationError(errors.items)

    _resolve_customers(organization_id=organization_id, customer_refs=customer_refs, external_refs=external_refs, rows=rows)
    if not rows:
        return {"inserted": 0, "duplicates": duplicates}

    params = {
        # orjson writes datetimes as RFC 3339 and UUIDs as strings, which json_to_recordset casts back.
        "rows": orjson.dumps(rows).decode(),
        "organization_id": organization_id,
        "ingested_at": now,
    }
    inserted = _write(params, timestamps)
    billing_metrics.EVENTS_INGESTED.inc(inserted)
    return {"inserted": inserted, "duplicates": duplicates + len(rows) - inserted}


def _resolve_customers(*, organization_id, customer_refs, external_refs, rows):
    """Check named customers belong to the organization and fill the other id of each event.

    One query per kind of id. An ``external_customer_id`` with no customer yet is kept as is: the customers
    customer is linked by ``customer_create`` below when it is created.
    """
    if customer_refs:
        found = dict(
            _fetch(
                "SELECT id, external_id FROM customers_customer"
                " WHERE organization_id = %s AND id = ANY(%s) AND deleted_at IS NULL",
                [organization_id, list(customer_refs)],
            )
        )
        missing = [customer_id for customer_id in customer_refs if customer_id not in found]
        if missing:
            raise PolarRequestValidationError(
                [
                    {
                        "loc": ["body", "events", customer_refs[customer_id], "customer_id"],
                        "msg": "Customer not found in this organization",
                        "type": "value_error",
                    }
                    for customer_id in sorted(missing, key=customer_refs.__getitem__)[:MAX_ERRORS]
                ]
            )
        for row in rows:
            if row["customer_id"] is not None:
                row["external_customer_id"] = found[row["customer_id"]]
    if external_refs:
        linked = dict(
            _fetch(
                "SELECT external_id, id FROM customers_customer"
                " WHERE organization_id = %s AND external_id = ANY(%s) AND deleted_at IS NULL",
                [organization_id, list(external_refs)],
            )
        )
        if linked:
            for row in rows:
                if row["customer_id"] is None and row["external_customer_id"] in linked:
                    row["customer_id"] = linked[row["external_customer_id"]]


def _fetch(query, params):
    # One array parameter instead of Django's IN (%s, %s, ...) with up to 1,000 placeholders.
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def _write(params, timestamps) -> int:
    """Run the one INSERT; create a missing partition and retry once if PostgreSQL finds none for a row."""
    ensure_partitions_for(timestamps)
    for attempt in range(2):
        try:
            with transaction.atomic():
                connection.ensure_connection()
                # A plain psycopg cursor binds the parameters server-side (Django's client-side cursor would
                # quote the whole batch into the query text).
                with psycopg.Cursor(connection.connection) as cursor:
                    cursor.execute(_INSERT_SQL, params)
                    return cursor.rowcount
        except psycopg.errors.CheckViolation as exc:
            # "no partition of relation ... found for row": our cache of partitions was stale (a partition
            # created in a rolled-back transaction, or dropped by hand). Forget it and create what is missing.
            if attempt or "no partition" not in str(exc):
                raise
            forget_partitions()
            ensure_partitions_for(timestamps)
    raise AssertionError("unreachable")


@transaction.atomic
def customer_create(*, organization, **fields) -> Customer:
    """Create a customer (``customers.services.customer_create``: validation, ``customer.created``) and link
    the usage events ingested under its external id before it existed, in the same transaction.

    The customers app knows nothing of billing, so billing's entry points that create customers (the
    ``POST /v1/customers/`` view, the checkout confirmation) call this. Same errors and idempotency as
    the customers service.
    """
    customer = customers_services.customer_create(organization=organization, **fields)
    if customer.external_id is not None:
        link_events_to_customer(customer=customer)
    return customer


def link_events_to_customer(*, customer) -> int:
    """Attach the events ingested under ``customer.external_id`` before the customer existed.

    Called by ``customer_create`` when a customer is created. Idempotent: only
    rows still without a customer are updated. Readers do not depend on it for correctness (quantities also
    match unlinked events by external id); it keeps per-customer reads on the customer index.
    Returns the number of events linked.
    """
    if not customer.external_id:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        # The rollups were made from the events as they were named: their rows move with the events, under their locks.
        event_activity_link(organization_id=customer.organization_id, customer_id=customer.id, external_id=customer.external_id)
        meter_rollups_link(organization_id=customer.organization_id, customer_id=customer.id, external_id=customer.external_id)
        cursor.execute(
            "UPDATE billing_event SET customer_id = %s"
            " WHERE organization_id = %s AND external_customer_id = %s AND customer_id IS NULL",
            [customer.id, customer.organization_id, customer.external_id],
        )
        return cursor.rowcount


def meter_quantity(*, meter, customer, start: dt.datetime, end: dt.datetime) -> Decimal:
    """The meter's quantity for one customer over ``[start, end)``: what renewals bill at a cutoff.

    Read-only and deterministic for a given set of events (see ``billing.usage.selectors.meter_quantity``).
    """
    from billing.usage.selectors import meter_quantity as select_meter_quantity

    return select_meter_quantity(meter=meter, customer=customer, start=start, end=end)


def event_type_update(*, organization, id, label: str, label_property_selector: str | None = None):
    """Label the event type ``id`` (Polar's ``PATCH /v1/event-types/{id}``). ``id`` is the one the list
    shows, derived from the event name: the row is created on the first update (``EventType``'s unique
    (organization, name) makes a concurrent first update an update of the same row). None when the
    organization has no event type with that id (the API answers 404). No webhook, as on Polar."""
    with transaction.atomic():
        event_type = EventType.objects.select_for_update().filter(organization=organization, pk=id).first()
        if event_type is None:
            names = Event.objects.filter(organization_id=organization.id).values_list("name", flat=True).distinct()
            name = next((n for n in names.iterator() if event_type_id(organization.id, n) == id), None)
            if name is None:
                return None
            event_type, _created = EventType.objects.get_or_create(
                organization=organization, name=name, defaults={"id": id, "label": label}
            )
            event_type = EventType.objects.select_for_update().get(pk=event_type.pk)
        event_type.label = label
        event_type.label_property_selector = label_property_selector
        event_type.modified_at = clock.now()
        event_type.save()
    return event_type
