"""Schema fuzzing with schemathesis, in-process through the WSGI application (no network).

``fuzz_version`` loads the OpenAPI schema the server serves for one API version, then generates
``max_examples`` requests per operation from it and checks every response: no 5xx, the status code is one
the operation documents, the content type and the body match the schema. It returns the failures found
(one per operation and check) instead of raising at the first, so one run reports everything.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools

import hypothesis
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import DatabaseError, close_old_connections, connection, transaction
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Deletes run last: they remove the rows the other operations read.
METHOD_ORDER = {"get": 0, "post": 1, "put": 1, "patch": 2, "delete": 3}


@dataclasses.dataclass
class Finding:
    operation: str
    version: str
    check: str
    status: int | None
    title: str
    body: str
    curl: str

    def __str__(self):
        return f"[{self.version}] {self.operation} -> {self.status} {self.title}: {self.body[:300]}\n    {self.curl[:600]}"


def _titles(exc) -> str:
    failures = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
    return "; ".join(f"{getattr(f, 'title', type(f).__name__)} {getattr(f, 'message', '')[:300]}" for f in failures)


@contextlib.contextmanager
def in_test_transaction():
    """Django's request signals close a connection that is not in autocommit mode, which is the test's
    transaction: the WSGI handler runs here without them (as Django's own test client does)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def load_schema(app, version: str):
    return schemathesis.openapi.from_wsgi("/openapi.json", app, headers={"Polar-Version": version})


def fuzz_version(
    app,
    version: str,
    *,
    credentials,
    path_parameters,
    max_examples: int,
    seed: int | None = None,
) -> tuple[list[Finding], int]:
    """Fuzz every operation of ``version``'s schema. ``credentials(path)`` names the Authorization header of
    an operation, ``path_parameters(path)`` the ids of rows that exist (the rest are generated). Without a
    ``seed`` the requests are the same every run (CI); with one, that seed's. Returns the findings and the
    number of requests sent."""
    schema = load_schema(app, version)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: (METHOD_ORDER.get(op.method.lower(), 1), op.path))
    findings: list[Finding] = []
    sent = 0
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        headers = {"Polar-Version": version, "Authorization": credentials(operation.path)}
        known = path_parameters(operation.path)
        run = functools.partial(_fuzz_operation, label=label, version=version, headers=headers, seed=seed, findings=findings)
        sent += run(operation.as_strategy(path_parameters=known or None), max_examples=max_examples)
        if known:  # and ids the server never issued: malformed, unknown, another kind's
            sent += run(operation.as_strategy(), max_examples=max(1, max_examples // 3))
    return findings, sent


def _fuzz_operation(
    strategy, *, label: str, version: str, headers: dict, max_examples: int, seed: int | None, findings: list
) -> int:
    """``max_examples`` generated requests to one operation; the first failure of each check is recorded
    (no shrinking: a finding is reported as generated, with its curl command)."""
    seen = {finding.check for finding in findings if finding.operation == label and finding.version == version}
    sent = 0

    @hypothesis.seed(seed)
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=seed is None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        nonlocal sent
        case.headers = {**(case.headers or {}), **headers}
        response = _call_in_savepoint(case)
        sent += 1
        for check in CHECKS:
            name = check.__name__
            if name in seen:
                continue
            try:
                case.validate_response(response, checks=[check])
            except (AssertionError, FailureGroup, Failure) as exc:
                seen.add(name)
                curl = case.as_curl_command(headers=headers)
                body = response.content.decode("utf-8", "replace") if response.content else ""
                findings.append(Finding(label, version, name, response.status_code, _titles(exc), body, curl))

    run()
    return sent


def _call_in_savepoint(case):
    """One request in a savepoint of the test's transaction: in production every request has a transaction of
    its own, so a request that failed in the database must not leave the next one an aborted transaction."""
    savepoint = transaction.savepoint()
    response = case.call()
    if connection.needs_rollback:
        transaction.savepoint_rollback(savepoint)
        connection.set_rollback(False)
        return response
    try:
        transaction.savepoint_commit(savepoint)
    except DatabaseError:
        transaction.savepoint_rollback(savepoint)
    return response
