"""Who did it, for django-auditlog.

- staff requests: the Django user (set by auditlog's middleware);
- API calls: the organization access token, written as ``actor_email = "token:<hint> org:<slug>"``
  (tokens are not users, so the entry's ``actor`` foreign key stays empty);
- Celery tasks and commands: ``actor_email = "system:<task or command name>"``.

The request id is the entry's correlation id (``cid``, AUDITLOG_CID_GETTER).
"""

import contextlib

from auditlog.context import auditlog_value, set_extra_data
from django.db.models.signals import pre_save


@contextlib.contextmanager
def _audit_context(data: dict):
    """auditlog's context managers do not nest: leaving one disconnects the receiver of whatever context the
    variable holds now, and leaves the variable as it is. An inner context (an eager task inside a request, a
    command inside a test) therefore left the outer receiver connected for good, and later entries of the same
    thread were written with that outer actor. This one disconnects its own receiver and puts the outer value
    back, whatever happened inside. With no outer context it leaves a value whose ``signal_duid`` matches no
    receiver: receivers are process-wide, so another thread's receiver reads this thread's value and needs
    the key."""
    from auditlog import get_logentry_model

    outer = auditlog_value.get(None)
    try:
        with set_extra_data(data):
            yield
    finally:
        pre_save.disconnect(sender=get_logentry_model(), dispatch_uid=data.get("signal_duid"))
        auditlog_value.set(outer if outer is not None else {"signal_duid": None})


def token_actor_label(token) -> str:
    return f"token:{token.token_hint} org:{token.organization.slug}"


def api_actor(*, token, remote_addr: str | None = None):
    return _audit_context({"actor_email": token_actor_label(token), "remote_addr": remote_addr})


def customer_session_actor(*, session, remote_addr: str | None = None):
    """A customer acting in the customer portal through one session (``actor_email`` names the customer)."""
    label = f"customer:{session.customer_id} session:{session.pk} org:{session.organization.slug}"
    return _audit_context({"actor_email": label, "remote_addr": remote_addr})


def system_actor(name: str):
    return _audit_context({"actor_email": f"system:{name}"})


# --- bulk writes ------------------------------------------------------------------------------------
# ``bulk_create``/``bulk_update`` send no model signals, so auditlog writes nothing for them. Batch paths
# (the renewal batch) record their writes here instead: the same LogEntry rows auditlog's receivers
# would write (same diff function, actor/extra data from the same context, request id as cid), in one
# INSERT.


def _context_fields(log_entry_model) -> dict:
    from auditlog.context import auditlog_value
    from django.contrib.auth import get_user_model

    try:
        data = auditlog_value.get()
    except LookupError:
        return {}
    fields = {}
    actor = data.get("actor")
    if isinstance(actor, get_user_model()):
        fields["actor"] = actor
        fields["actor_email"] = getattr(actor, "email", None)
    for key, value in data.items():
        if key in ("actor", "signal_duid") or not hasattr(log_entry_model, key):
            continue
        fields[key] = value() if callable(value) else value
    return fields


def audit_log_many(items, *, created: bool) -> int:
    """Write the audit entries of rows written in bulk: ``items`` are ``(instance, old, fields)`` with
    ``old`` a copy of the instance before the change (None for a create) and ``fields`` the fields
    written (None: all). Models not registered with auditlog and rows with no change are skipped, as
    auditlog itself does; nothing is written while auditlog is disabled. Returns the entries written."""
    from auditlog import get_logentry_model
    from auditlog.cid import get_cid
    from auditlog.context import auditlog_disabled
    from auditlog.diff import model_instance_diff
    from auditlog.registry import auditlog
    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType
    from django.utils.encoding import smart_str

    if auditlog_disabled.get():
        return 0
    log_entry = get_logentry_model()
    action = log_entry.Action.CREATE if created else log_entry.Action.UPDATE
    extra = _context_fields(log_entry)
    cid = get_cid()
    entries = []
    for instance, old, fields in items:
        if not auditlog.contains(type(instance)):
            continue
        changes = model_instance_diff(
            old, instance, fields_to_check=fields, use_json_for_changes=settings.AUDITLOG_STORE_JSON_CHANGES
        )
        if not changes:
            continue
        entries.append(
            log_entry(
                content_type=ContentType.objects.get_for_model(instance),
                object_pk=str(instance.pk),
                object_repr=smart_str(instance),
                serialized_data=log_entry.objects._get_serialized_data_or_none(instance),
                action=action,
                changes=changes,
                cid=cid,
                **extra,
            )
        )
    from polar.db import values_insert

    with values_insert():  # JSON diffs: see polar.db
        log_entry.objects.bulk_create(entries)
    return len(entries)


# --- staff actions --------------------------------------------------------------------------------------
# Every staff action that changes money or access carries a reason (docs/back-office.md). It is stored in the
# entries' ``additional_data`` ({"reason": ..., "staff_action": ...}) of every row the action writes, beside
# the acting user: the reason is then on the very entries that show what changed, not in a second table.


def staff_action(*, actor, action: str, reason: str):
    """The audit context of one staff action: ``actor`` (a user; None for an operator's command, recorded
    as ``system:<action>``), ``action`` (its name) and ``reason`` (required, stripped, at most 500 chars)."""
    from polar.errors import PolarRequestValidationError

    reason = (reason or "").strip()
    if not reason:
        raise PolarRequestValidationError.single(["body", "reason"], f"A reason is required ({action}).", "missing")
    data = {"additional_data": {"reason": reason[:500], "staff_action": action}}
    if actor is None:
        data["actor_email"] = f"system:{action}"
    else:
        data["actor"] = actor
    return _audit_context(data)


class AuditlogMiddleware:
    """auditlog's middleware (the staff user of a request is the actor), entered through ``_audit_context``:
    auditlog's own leaves the request's context in the variable after the response, and bulk audit writes
    (``audit_log_many``) read the variable, so a later batch in the same thread (a test after an admin request,
    a command run in a shell that served a request) was written with that long-gone user."""

    def __init__(self, get_response):
        from auditlog.middleware import AuditlogMiddleware as Base

        self.get_response = get_response
        self._base = Base(get_response)

    def __call__(self, request):
        from auditlog.cid import set_cid

        set_cid(request)
        with _audit_context(self._base.get_extra_data(request)):
            return self.get_response(request)
