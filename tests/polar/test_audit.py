import pytest
from auditlog.models import LogEntry

from customers.models import Customer
from polar.audit import system_actor
from polar.organizations.models import Organization, OrganizationAccessToken
from polar.organizations.services import access_token_create, access_token_revoke
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def test_token_creation_and_revocation_are_audited():
    organization = OrganizationFactory()
    with system_actor("test"):
        token, _raw = access_token_create(organization=organization)
        access_token_revoke(token=token)
    entries = LogEntry.objects.get_for_object(token).order_by("timestamp")
    assert [entry.action for entry in entries] == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]
    assert all(entry.actor_email == "system:test" for entry in entries)
    assert "revoked_at" in entries[1].changes_dict
    # the hash of the secret never reaches the audit trail
    assert "token_hash" not in entries[0].changes_dict


def test_organization_changes_are_audited():
    organization = OrganizationFactory()
    organization.status = Organization.Status.DENIED
    organization.save()
    assert LogEntry.objects.get_for_object(organization).filter(action=LogEntry.Action.UPDATE).exists()


def test_using_a_token_does_not_write_audit_entries(api_client, organization):
    before = LogEntry.objects.count()
    api_client.get("/v1/organizations/")
    assert OrganizationAccessToken.objects.get(organization=organization).last_used_at is not None
    assert LogEntry.objects.count() == before


@pytest.mark.urls("tests.polar.api.urls")
def test_api_writes_are_attributed_to_the_token_and_request(api_client, organization):
    response = api_client.post("/v1/things/", {"email": "a@x.co"}, format="json", HTTP_X_REQUEST_ID="req-42")
    customer = Customer.objects.get(pk=response.json()["id"])
    entry = LogEntry.objects.get_for_object(customer).get()
    assert entry.actor_email.startswith("token:polar_oat_") and entry.actor_email.endswith("org:acme")
    assert entry.cid == "req-42"


def test_tasks_are_audited_as_the_system_with_their_name(organization):
    from celery import shared_task

    @shared_task(name="tests.audit.revoke_token")
    def revoke_token(token_id):
        access_token_revoke(token=OrganizationAccessToken.objects.get(pk=token_id))

    token, _raw = access_token_create(organization=organization)
    revoke_token.delay(str(token.pk))  # eager in tests: runs through Celery's signals in-process
    entry = LogEntry.objects.get_for_object(token).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor_email == "system:tests.audit.revoke_token"


@pytest.mark.django_db
def test_nested_audit_contexts_leave_no_actor_behind(admin_user):
    """auditlog's contexts do not nest on their own: an inner context used to leave the outer receiver
    connected, so every later entry of the thread named the outer actor (a staff user long gone)."""
    from auditlog.context import set_actor

    with set_actor(admin_user):
        with system_actor("inner"):
            inner = OrganizationFactory(slug="inner-org")
        outer = OrganizationFactory(slug="outer-org")
    after = OrganizationFactory(slug="after-org")

    def entry(organization):
        return LogEntry.objects.get_for_object(organization).get(action=LogEntry.Action.CREATE)

    assert entry(inner).actor_email == "system:inner"
    assert entry(outer).actor == admin_user
    assert (entry(after).actor, entry(after).actor_email) == (None, None)


@pytest.mark.django_db
def test_the_next_test_finds_no_actor_left_by_auditlogs_own_set_actor():
    # In file order this runs after the test above, whose auditlog ``set_actor`` leaves its value (admin_user,
    # deleted since) in the variable; tests/conftest.py clears it. Without that, this test failed.
    from auditlog.context import auditlog_value

    assert (auditlog_value.get(None) or {}).get("actor") is None
