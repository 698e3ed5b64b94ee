"""A second client of the PgBouncer test (tests/ops/test_pgbouncer.py): reads the API with the demo token in a
loop while the renewals run in another process, so the two share PgBouncer's few server connections.

    python -m tests.ops.pgbouncer_api_reader TOKEN ROUNDS

Prints one JSON line: the status codes seen. Each path is read ROUNDS times: more than psycopg's default
prepare threshold (5), so a prepared statement left on a shared server connection would break a later read."""

import json
import sys

import django

PATHS = ("/v1/products/", "/v1/customers/", "/v1/subscriptions/", "/v1/orders/", "/v1/meters/")


def main() -> None:
    token, rounds = sys.argv[1], int(sys.argv[2])
    django.setup()
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    statuses: dict[str, list[int]] = {path: [] for path in PATHS}
    for _ in range(rounds):
        for path in PATHS:
            statuses[path].append(client.get(path).status_code)
    print(json.dumps(statuses))


if __name__ == "__main__":
    main()
