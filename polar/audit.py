"""Who did it, for django-auditlog.

- staff requests: the Django user (set by auditlog's middleware);
- API calls: the organization access token, written as ``actor_email = "token:<hint> org:<slug>"``
  (tokens are not users, so the entry's ``actor`` foreign key stays empty);
- Celery tasks and commands: ``actor_email = "system:<task or command name>"``.

The request id is the entry's correlation id (``cid``, AUDITLOG_CID_GETTER).
"""
import contextlib

from auditlog.context import set_extra_data


def token_actor_label(token) -> str:
    return f"token:{token.token_hint} org:{token.organization.slug}"


def api_actor(*, token, remote_addr: str | None = None):
    return set_extra_data({"actor_email": token_actor_label(token), "remote_addr": remote_addr})


@contextlib.contextmanager
def system_actor(name: str):
    with set_extra_data({"actor_email": f"system:{name}"}):
        yield
