"""Drive polar-sdk 1.0.x from its own virtualenv, one scenario per process.

Runs under the 1.0.x venv's interpreter, in isolated mode (``python -I``) from a cwd outside the
repository, because the SDK's top-level module ``polar`` is also the name of our project package.
It must import nothing from the repository.

stdin: a JSON list of operations, run in order against one client::

    [{"call": "customers.create", "kwargs": {"email": "a@example.com"}},
     {"call": "customers.get", "args": ["${0.id}"]},
     {"call": "customers.iter_list", "kwargs": {"limit": 2}},
     {"call": "customers.get", "args": ["${0.id}"], "access_token": "polar_oat_other"}]

- ``call`` is an attribute path on ``polar.v<version>.Polar`` (env ``POLAR_SDK_API_VERSION``, e.g. ``2026-10``) (``customers.members.list`` works too);
- a string that is exactly ``${N.path}`` is replaced by that field of operation N's result (``${0.id}``,
  ``${2.items.0.id}``), anywhere in ``args``/``kwargs``;
- ``access_token`` (optional) runs that operation with another client (e.g. another organization's).

stdout: a JSON list, one entry per operation::

    {"ok": true, "class": "CustomerIndividual", "result": {...}}
    {"ok": false, "error": {"class": "ResourceNotFound", "status_code": 404, "body": {...}, "message": "..."}}

Dataclasses become dicts carrying their class name under ``"__class__"``; generators (``iter_*``)
become lists. Configuration: env ``POLAR_SDK_BASE_URL`` and ``POLAR_SDK_ACCESS_TOKEN``.
"""

import dataclasses
import enum
import json
import os
import re
import sys
import traceback
import types

_REFERENCE = re.compile(r"^\$\{(\d+)((?:\.[A-Za-z0-9_]+)*)\}$")


def to_json(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {"__class__": type(value).__name__}
        for field in dataclasses.fields(value):
            data[field.name] = to_json(getattr(value, field.name))
        return data
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, types.GeneratorType)):
        return [to_json(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _lookup(data, path: str):
    for part in filter(None, path.split(".")):
        if isinstance(data, list):
            data = data[int(part)]
        else:
            data = data[part]
    return data


def resolve(value, results):
    if isinstance(value, str):
        match = _REFERENCE.match(value)
        if match:
            index, path = int(match.group(1)), match.group(2)
            entry = results[index]
            if not entry.get("ok"):
                raise ValueError(f"operation {index} failed; cannot reference {value}")
            return _lookup(entry["result"], path)
        return value
    if isinstance(value, list):
        return [resolve(item, results) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, results) for key, item in value.items()}
    return value


def describe_error(exc: BaseException) -> dict:
    error = {"class": type(exc).__name__, "message": str(exc)}
    if hasattr(exc, "status_code"):
        error["status_code"] = exc.status_code
    if hasattr(exc, "error"):
        error["body"] = to_json(exc.error)
    if type(exc).__name__ in ("PolarDeserializationError", "TypeError", "AttributeError", "ValueError"):
        error["traceback"] = traceback.format_exc(limit=8)
    return error


def main() -> int:
    import importlib

    version = os.environ.get("POLAR_SDK_API_VERSION", "2026-10")
    Polar = importlib.import_module("polar.v" + version.replace("-", "_")).Polar  # noqa: N806

    base_url = os.environ["POLAR_SDK_BASE_URL"]
    default_token = os.environ["POLAR_SDK_ACCESS_TOKEN"]
    operations = json.load(sys.stdin)
    clients: dict = {}
    results: list[dict] = []
    for operation in operations:
        token = operation.get("access_token") or default_token
        if token not in clients:
            clients[token] = Polar(token, base_url=base_url, timeout=30.0)
        try:
            target = clients[token]
            for part in operation["call"].split("."):
                target = getattr(target, part)
            args = resolve(operation.get("args", []), results)
            kwargs = resolve(operation.get("kwargs", {}), results)
            value = target(*args, **kwargs)
            if isinstance(value, types.GeneratorType):
                value = list(value)
            results.append({"ok": True, "class": type(value).__name__, "result": to_json(value)})
        except Exception as exc:  # reported to the test, which decides
            results.append({"ok": False, "error": describe_error(exc)})
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
