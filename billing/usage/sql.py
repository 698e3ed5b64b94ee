"""Meter filters and aggregations: validation, and compilation to parameterised SQL.

Nothing a merchant sends is ever spliced into SQL text. Column names come from a fixed table
(``name``, ``source``, ``timestamp``) and are rendered with ``psycopg.sql.Identifier``; operators and
aggregate functions come from fixed tables of SQL keywords; metadata keys and comparison values are bound
parameters (``metadata -> %s``, ``metadata #> %s`` for a dotted path). A property name full of quotes or
semicolons is therefore just a metadata key that no event has.

Semantics (docs/events.md):
- a property is ``name``, ``source``, ``timestamp`` or a metadata key; ``metadata.`` in front is optional;
  dots navigate into objects (``_cost.amount``, ``_llm.total_tokens``).
- string values compare as text (byte order); number values compare numerically with metadata values that
  are JSON numbers or decimal strings (other values never match); booleans support ``eq``/``ne``; ``timestamp`` takes ISO 8601 or
  Unix seconds. ``like``/``not_like`` mean "contains"/"does not contain" the value literally (``%`` and
  ``_`` in the value are not wildcards), case-sensitive.
- a clause about a key an event does not have is unknown, so the event does not match (``ne`` included).
- an empty ``clauses`` list matches every event.
"""

import datetime as dt
from decimal import Decimal

from psycopg import sql

MAX_FILTER_DEPTH = 5
MAX_FILTER_CLAUSES = 100
MAX_PROPERTY_LENGTH = 256
MAX_VALUE_LENGTH = 1000

OPERATORS = {
    "eq": sql.SQL("="),
    "ne": sql.SQL("<>"),
    "gt": sql.SQL(">"),
    "gte": sql.SQL(">="),
    "lt": sql.SQL("<"),
    "lte": sql.SQL("<="),
}
LIKE_OPERATORS = {"like": sql.SQL("LIKE"), "not_like": sql.SQL("NOT LIKE")}
ALL_OPERATORS = frozenset(OPERATORS) | frozenset(LIKE_OPERATORS)
COLUMNS = {"name": "name", "source": "source", "timestamp": "timestamp"}
NUMERIC_FUNCS = {"sum": sql.SQL("sum"), "max": sql.SQL("max"), "min": sql.SQL("min"), "avg": sql.SQL("avg")}
ALL_FUNCS = frozenset({"count", "unique", *NUMERIC_FUNCS})


class FilterError(Exception):
    """An invalid filter or aggregation; ``loc`` is relative to the object validated."""

    def __init__(self, loc, msg, type_="value_error"):
        self.loc, self.msg, self.type = list(loc), msg, type_
        super().__init__(msg)


# --- validation ---------------------------------------------------------------------------------------------


def _check_property(value, loc):
    if not isinstance(value, str) or not value:
        raise FilterError(loc, "Property must be a non-empty string", "string_type")
    if len(value) > MAX_PROPERTY_LENGTH:
        raise FilterError(loc, f"Property can be at most {MAX_PROPERTY_LENGTH} characters", "string_too_long")
    if "\x00" in value:
        raise FilterError(loc, "Property must not contain NUL characters", "value_error")
    path = metadata_path(value)
    if path is not None and any(not segment for segment in path):
        raise FilterError(loc, "Property has an empty segment between dots", "value_error")
    return value


def metadata_path(prop: str) -> list[str] | None:
    """``None`` for a column, else the metadata path of the property."""
    if prop in COLUMNS:
        return None
    if prop.startswith("metadata."):
        prop = prop[len("metadata.") :]
    return prop.split(".")


def _check_clause(clause, loc, counter):
    counter[0] += 1
    if counter[0] > MAX_FILTER_CLAUSES:
        raise FilterError(loc, f"A filter can hold at most {MAX_FILTER_CLAUSES} clauses", "too_long")
    prop = _check_property(clause.get("property"), [*loc, "property"])
    operator = clause.get("operator")
    if operator not in ALL_OPERATORS:
        raise FilterError([*loc, "operator"], f"Operator must be one of {', '.join(sorted(ALL_OPERATORS))}", "enum")
    if "value" not in clause:
        raise FilterError([*loc, "value"], "Field required", "missing")
    value = clause["value"]
    value_loc = [*loc, "value"]
    if isinstance(value, bool):
        if operator not in ("eq", "ne"):
            raise FilterError(value_loc, "Booleans can only be compared with eq or ne", "value_error")
        if prop in COLUMNS:
            raise FilterError(value_loc, f"{prop} cannot be compared with a boolean", "value_error")
    elif isinstance(value, (int, float)):
        if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            raise FilterError(value_loc, "Numbers must be finite", "finite_number")
        if operator in LIKE_OPERATORS:
            raise FilterError(value_loc, "like and not_like take a string", "string_type")
        if prop in ("name", "source"):
            raise FilterError(value_loc, f"{prop} is compared with a string", "string_type")
        if abs(value) >= 10**18:
            raise FilterError(value_loc, "Number is too large", "less_than")
        if prop == "timestamp":
            _timestamp_value(value, value_loc)
    elif isinstance(value, str):
        if len(value) > MAX_VALUE_LENGTH:
            raise FilterError(value_loc, f"Value can be at most {MAX_VALUE_LENGTH} characters", "string_too_long")
        if "\x00" in value:
            raise FilterError(value_loc, "Value must not contain NUL characters", "value_error")
        if prop == "timestamp":
            if operator in LIKE_OPERATORS:
                raise FilterError(value_loc, "timestamp cannot be compared with like", "value_error")
            _timestamp_value(value, value_loc)
    else:
        raise FilterError(value_loc, "Value must be a string, a number or a boolean", "value_error")
    return {"property": prop, "operator": operator, "value": value}


def _timestamp_value(value, loc) -> dt.datetime:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise FilterError(loc, "Timestamp out of range", "value_error")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise FilterError(loc, "Timestamp must be ISO 8601 or Unix seconds", "datetime_parsing")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def validate_filter(value, loc=(), depth=1, counter=None) -> dict:
    """Validate a Polar filter and return its normalised form. Raises ``FilterError``."""
    counter = counter if counter is not None else [0]
    loc = list(loc)
    if not isinstance(value, dict):
        raise FilterError(loc, "Input should be a valid dictionary or object", "model_type")
    if depth > MAX_FILTER_DEPTH:
        raise FilterError(loc, f"Filters can be nested at most {MAX_FILTER_DEPTH} levels deep", "value_error")
    conjunction = value.get("conjunction")
    if conjunction not in ("and", "or"):
        raise FilterError([*loc, "conjunction"], "Input should be 'and' or 'or'", "enum")
    clauses = value.get("clauses")
    if not isinstance(clauses, list):
        raise FilterError([*loc, "clauses"], "Input should be a valid list", "list_type")
    normalised = []
    for index, clause in enumerate(clauses):
        clause_loc = [*loc, "clauses", index]
        if not isinstance(clause, dict):
            raise FilterError(clause_loc, "Input should be a valid dictionary or object", "model_type")
        if "conjunction" in clause or "clauses" in clause:
            normalised.append(validate_filter(clause, clause_loc, depth + 1, counter))
        else:
            normalised.append(_check_clause(clause, clause_loc, counter))
    return {"conjunction": conjunction, "clauses": normalised}


def validate_aggregation(value, loc=()) -> dict:
    """Validate a Polar aggregation (count, sum/max/min/avg/unique of a property)."""
    loc = list(loc)
    if not isinstance(value, dict):
        raise FilterError(loc, "Input should be a valid dictionary or object", "model_type")
    func = value.get("func", "count")
    if func is None:
        func = "unique" if "property" in value else "count"
    if func not in ALL_FUNCS:
        raise FilterError([*loc, "func"], f"func must be one of {', '.join(sorted(ALL_FUNCS))}", "enum")
    if func == "count":
        return {"func": "count"}
    if "property" not in value:
        raise FilterError([*loc, "property"], "Field required", "missing")
    prop = _check_property(value["property"], [*loc, "property"])
    if func in NUMERIC_FUNCS and prop in COLUMNS:
        raise FilterError([*loc, "property"], f"{func} needs a numeric metadata property", "value_error")
    return {"func": func, "property": prop}


# --- compilation ----------------------------------------------------------------------------------------------


def _json_expr(path):
    if len(path) == 1:
        return sql.SQL("e.metadata -> ({}::text)").format(sql.Placeholder()), [path[0]]
    return sql.SQL("e.metadata #> ({}::text[])").format(sql.Placeholder()), [path]


def _text_expr(path):
    if len(path) == 1:
        return sql.SQL("e.metadata ->> ({}::text)").format(sql.Placeholder()), [path[0]]
    return sql.SQL("e.metadata #>> ({}::text[])").format(sql.Placeholder()), [path]


NUMERIC_STRING = r"^\s*-?[0-9]+(\.[0-9]+)?\s*$"


def numeric_expr(path):
    """A metadata value as numeric: JSON numbers, and strings that are plain decimals (``_cost.amount`` may be
    sent as "0.0125"); NULL for anything else, so a stray value never fails a query or counts as 0."""
    json_sql, json_params = _json_expr(path)
    text_sql, text_params = _text_expr(path)
    # jsonb -> numeric directly for numbers (no detour through text): this runs once per event scanned.
    return (
        sql.SQL(
            "(CASE jsonb_typeof({json}) WHEN 'number' THEN ({json2})::numeric"
            " WHEN 'string' THEN (CASE WHEN {text} ~ {pattern} THEN ({text2})::numeric END) END)"
        ).format(json=json_sql, json2=json_sql, text=text_sql, pattern=sql.Placeholder(), text2=text_sql),
        [*json_params, *json_params, *text_params, NUMERIC_STRING, *text_params],
    )


def _like_pattern(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _compile_clause(clause):
    prop, operator, value = clause["property"], clause["operator"], clause["value"]
    placeholder = sql.Placeholder()
    if prop in COLUMNS:
        column = sql.SQL("e.{}").format(sql.Identifier(COLUMNS[prop]))
        if prop == "timestamp":
            return (
                sql.SQL("{} {} {}::timestamptz").format(column, OPERATORS[operator], placeholder),
                [_timestamp_value(value, [])],
            )
        if operator in LIKE_OPERATORS:
            return sql.SQL("{} {} {}").format(column, LIKE_OPERATORS[operator], placeholder), [_like_pattern(value)]
        return sql.SQL('{} COLLATE "C" {} {}').format(column, OPERATORS[operator], placeholder), [value]
    path = metadata_path(prop)
    if isinstance(value, bool):
        json_sql, params = _json_expr(path)
        return sql.SQL("{} {} {}::jsonb").format(json_sql, OPERATORS[operator], placeholder), [
            *params,
            "true" if value else "false",
        ]
    if isinstance(value, (int, float)):
        expr, params = numeric_expr(path)
        return sql.SQL("{} {} {}::numeric").format(expr, OPERATORS[operator], placeholder), [
            *params,
            Decimal(str(value)),
        ]
    text_sql, params = _text_expr(path)
    if operator in LIKE_OPERATORS:
        return sql.SQL("{} {} {}").format(text_sql, LIKE_OPERATORS[operator], placeholder), [
            *params,
            _like_pattern(value),
        ]
    return sql.SQL('{} COLLATE "C" {} {}').format(text_sql, OPERATORS[operator], placeholder), [*params, value]


def compile_filter(filter_) -> tuple[sql.Composable, list]:
    """SQL boolean expression over alias ``e`` (billing_event) for a validated filter, and its parameters."""
    parts, params = [], []
    for clause in filter_["clauses"]:
        if "clauses" in clause:
            part, part_params = compile_filter(clause)
        else:
            part, part_params = _compile_clause(clause)
        parts.append(sql.SQL("({})").format(part))
        params.extend(part_params)
    if not parts:
        return sql.SQL("TRUE"), []
    joiner = sql.SQL(" AND ") if filter_["conjunction"] == "and" else sql.SQL(" OR ")
    return joiner.join(parts), params


def compile_aggregation(aggregation) -> tuple[sql.Composable, list]:
    """SQL aggregate expression over alias ``e`` for a validated aggregation, and its parameters."""
    func = aggregation["func"]
    if func == "count":
        return sql.SQL("count(*)"), []
    prop = aggregation["property"]
    if func == "unique":
        if prop in COLUMNS:
            return sql.SQL("count(DISTINCT e.{})").format(sql.Identifier(COLUMNS[prop])), []
        text_sql, params = _text_expr(metadata_path(prop))
        return sql.SQL("count(DISTINCT {})").format(text_sql), params
    expr, params = numeric_expr(metadata_path(prop))
    return sql.SQL("{}({})").format(NUMERIC_FUNCS[func], expr), params


def compile_value(aggregation) -> tuple[sql.Composable, list] | None:
    """The per-event numeric value a rollup keeps partial aggregates of (count, sum, min, max), or None for an
    aggregation a rollup cannot combine (``unique`` needs the distinct values themselves)."""
    func = aggregation["func"]
    if func == "count":
        return sql.SQL("NULL::numeric"), []
    if func == "unique":
        return None
    return numeric_expr(metadata_path(aggregation["property"]))
