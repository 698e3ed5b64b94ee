"""Issue 21 part 4: while PostgreSQL restarts, the API answers 503 with Retry-After (transient: retry with the
same Idempotency-Key), not 500 (a bug: do not retry). bench/chaos.py drives the real restart; here the
handler is given the errors Django raises then."""

import pytest
from django.db import InterfaceError, OperationalError

from polar.api.exceptions import polar_exception_handler


@pytest.mark.parametrize(
    "error",
    [
        OperationalError('connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection refused'),
        OperationalError("connection failed: FATAL:  the database system is starting up"),
        InterfaceError("connection already closed"),
    ],
)
def test_a_database_that_cannot_be_reached_answers_503_with_retry_after(error):
    response = polar_exception_handler(error, {})
    assert response.status_code == 503
    assert response.data == {"error": "ServiceUnavailable", "detail": "The service is briefly unavailable; retry shortly."}
    assert response["Retry-After"] == "2"


def test_any_other_unexpected_error_is_still_a_500():
    response = polar_exception_handler(RuntimeError("a bug"), {})
    assert response.status_code == 500
    assert response.data["error"] == "InternalServerError"
