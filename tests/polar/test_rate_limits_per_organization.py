"""Issue 21 part 3: ingestion is limited by events as well as by requests, and an organization can have its own
limits (a field on the organization, set through a service and ``manage.py organization_rate_limits``)."""

import io
import json

import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command

from billing.models import Event
from polar.errors import PolarRequestValidationError
from polar.organizations.models import Organization
from polar.organizations.services import organization_rate_limits_set

pytestmark = pytest.mark.django_db


def lower(settings, **rates):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, **rates}


def ingest(client, count, start=0):
    events = [{"name": "api_call", "external_customer_id": "c-1", "external_id": f"e-{start + i}"} for i in range(count)]
    return client.post("/v1/events/ingest", {"events": events}, format="json")


def test_ingestion_is_limited_by_events_not_only_by_requests(settings, api_client, organization):
    lower(settings, ingest="100/minute", ingest_events="5/minute")
    assert ingest(api_client, 3).json() == {"inserted": 3, "duplicates": 0}
    refused = ingest(api_client, 3, start=3)
    assert refused.status_code == 429
    assert refused.json()["error"] == "TooManyRequests"
    assert 1 <= int(refused["Retry-After"]) <= 60
    # A refused batch is refused whole and counts nothing: two more events still fit in the window.
    assert Event.objects.filter(organization=organization).count() == 3
    assert ingest(api_client, 2, start=6).json() == {"inserted": 2, "duplicates": 0}
    assert ingest(api_client, 1, start=8).status_code == 429
    assert Event.objects.filter(organization=organization).count() == 5


def test_a_batch_larger_than_the_whole_window_is_refused_and_says_to_split_it(settings, api_client):
    lower(settings, ingest_events="4/minute")
    refused = ingest(api_client, 5)
    assert refused.status_code == 429
    assert "split it" in refused.json()["detail"]


def test_event_budgets_are_per_token(settings, api_client, other_api_client):
    lower(settings, ingest_events="3/minute")
    assert ingest(api_client, 3).status_code == 200
    assert ingest(api_client, 1, start=3).status_code == 429
    assert ingest(other_api_client, 3).status_code == 200


def test_an_organization_own_rate_replaces_the_setting_for_its_tokens_only(settings, organization, api_client, other_api_client):
    lower(settings, token="100/minute")
    organization_rate_limits_set(organization=organization, changes={"token": "3/minute"})
    for _ in range(3):
        assert api_client.get("/v1/products/").status_code == 200
    assert api_client.get("/v1/products/").status_code == 429
    for _ in range(5):
        assert other_api_client.get("/v1/products/").status_code == 200


def test_an_organization_can_be_allowed_more_than_the_setting(settings, organization, api_client):
    lower(settings, ingest_events="2/minute")
    organization_rate_limits_set(organization=organization, changes={"ingest_events": "10/minute"})
    assert ingest(api_client, 10).json() == {"inserted": 10, "duplicates": 0}
    assert ingest(api_client, 1, start=10).status_code == 429


def test_off_lifts_a_limit_for_one_organization_and_clearing_restores_the_setting(settings, organization, api_client):
    lower(settings, token="2/minute")
    organization_rate_limits_set(organization=organization, changes={"token": "off"})
    for _ in range(4):
        assert api_client.get("/v1/products/").status_code == 200
    organization_rate_limits_set(organization=organization, changes={"token": None})
    organization.refresh_from_db()
    assert organization.rate_limits == {}
    # Nothing was counted while the limit was off: the setting's two calls are left, then 429.
    assert [api_client.get("/v1/products/").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.parametrize(
    "changes, message",
    [({"anonymous": "5/minute"}, "unknown scope 'anonymous'"), ({"token": "lots"}, "invalid rate 'lots'")],
)
def test_unknown_scopes_and_bad_rates_are_refused_and_nothing_is_written(organization, changes, message):
    organization_rate_limits_set(organization=organization, changes={"ingest": "10/minute"})
    with pytest.raises(PolarRequestValidationError) as error:
        organization_rate_limits_set(organization=organization, changes={"ingest": "20/minute", **changes})
    assert message in error.value.detail
    organization.refresh_from_db()
    assert organization.rate_limits == {"ingest": "10/minute"}


def test_a_change_is_in_the_audit_log(organization):
    organization_rate_limits_set(organization=organization, changes={"ingest_events": "500/minute"})
    entry = LogEntry.objects.get_for_object(organization).latest("timestamp")
    assert "rate_limits" in entry.changes_dict


def test_the_command_sets_clears_and_prints_the_effective_limits(settings, organization):
    lower(settings, token="3000/minute", ingest="1200/minute")
    out = io.StringIO()
    call_command("organization_rate_limits", "acme", "--set", "ingest=60/minute", "--set", "token=OFF", stdout=out)
    printed = json.loads(out.getvalue())
    assert printed["rate_limits"]["ingest"] == {"rate": "60/minute", "own": True}
    assert printed["rate_limits"]["token"] == {"rate": "off", "own": True}
    out = io.StringIO()
    call_command("organization_rate_limits", "acme", "--clear", "token", stdout=out)
    assert json.loads(out.getvalue())["rate_limits"]["token"] == {"rate": "3000/minute", "own": False}
    assert Organization.objects.get(slug="acme").rate_limits == {"ingest": "60/minute"}


def test_the_command_refuses_an_unknown_organization_and_a_bad_rate(organization):
    with pytest.raises(CommandError, match="no organization"):
        call_command("organization_rate_limits", "nobody")
    with pytest.raises(CommandError, match="invalid rate"):
        call_command("organization_rate_limits", "acme", "--set", "token=fast")
