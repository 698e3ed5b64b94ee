"""benefit_grants_create_for / benefit_grants_revoke_for / benefit_grants_sync_for: what subscriptions
and orders call. Idempotent, emitting one webhook per real change."""

import threading
import uuid

import pytest
from django.db import connections

from billing.benefits.selectors import meter_credit_grants_active
from billing.benefits.services import benefit_grants_create_for, benefit_grants_revoke_for, benefit_grants_sync_for
from billing.catalog.services import product_benefits_set
from billing.models import BenefitGrant, LicenseKey
from polar.webhooks.models import WebhookEvent
from tests.factories import CustomerFactory, OrganizationFactory
from tests.factories.catalog import MeterFactory, make_benefit, make_license_keys_benefit, make_product


def product_with(organization, *benefits):
    product = make_product(organization=organization, recurring_interval="month")
    product_benefits_set(product=product, benefits=[benefit.pk for benefit in benefits])
    return product


@pytest.mark.django_db
def test_grants_every_benefit_once_and_emits_created(organization):
    custom = make_benefit(organization=organization)
    flag = make_benefit(organization=organization, type="feature_flag", description="Beta")
    product = product_with(organization, custom, flag)
    customer = CustomerFactory(organization=organization)
    subscription_id = uuid.uuid4()

    created = benefit_grants_create_for(customer=customer, product=product, subscription_id=subscription_id)

    assert {grant.benefit_id for grant in created} == {custom.pk, flag.pk}
    assert all(grant.is_granted and grant.subscription_id == subscription_id for grant in created)
    events = WebhookEvent.objects.filter(type="benefit_grant.created")
    assert events.count() == 2
    data = events.first().payload["data"]
    assert data["customer"]["id"] == str(customer.id) and data["is_granted"] is True


@pytest.mark.django_db
def test_granting_twice_creates_nothing_the_second_time(organization):
    product = product_with(organization, make_benefit(organization=organization))
    customer = CustomerFactory(organization=organization)
    subscription_id = uuid.uuid4()
    benefit_grants_create_for(customer=customer, product=product, subscription_id=subscription_id)
    assert benefit_grants_create_for(customer=customer, product=product, subscription_id=subscription_id) == []
    assert BenefitGrant.objects.count() == 1
    assert WebhookEvent.objects.filter(type="benefit_grant.created").count() == 1


@pytest.mark.django_db
def test_another_subscription_gets_its_own_grant(organization):
    product = product_with(organization, make_benefit(organization=organization))
    customer = CustomerFactory(organization=organization)
    benefit_grants_create_for(customer=customer, product=product, subscription_id=uuid.uuid4())
    benefit_grants_create_for(customer=customer, product=product, subscription_id=uuid.uuid4())
    assert BenefitGrant.objects.filter(revoked_at__isnull=True).count() == 2


@pytest.mark.django_db
def test_revoke_is_idempotent_and_emits_revoked_once(organization):
    product = product_with(organization, make_benefit(organization=organization))
    customer = CustomerFactory(organization=organization)
    order_id = uuid.uuid4()
    benefit_grants_create_for(customer=customer, product=product, order_id=order_id)

    [revoked] = benefit_grants_revoke_for(customer=customer, order_id=order_id)
    assert benefit_grants_revoke_for(customer=customer, order_id=order_id) == []

    assert revoked.is_revoked and not revoked.is_granted
    assert WebhookEvent.objects.filter(type="benefit_grant.revoked").count() == 1


@pytest.mark.django_db
def test_revoking_one_subscription_leaves_the_others(organization):
    product = product_with(organization, make_benefit(organization=organization))
    customer = CustomerFactory(organization=organization)
    kept, ended = uuid.uuid4(), uuid.uuid4()
    benefit_grants_create_for(customer=customer, product=product, subscription_id=kept)
    benefit_grants_create_for(customer=customer, product=product, subscription_id=ended)
    benefit_grants_revoke_for(customer=customer, subscription_id=ended)
    assert list(BenefitGrant.objects.filter(revoked_at__isnull=True).values_list("subscription_id", flat=True)) == [kept]


@pytest.mark.django_db
def test_license_key_issued_per_grant_and_revoked_with_it(organization):
    benefit = make_license_keys_benefit(
        organization=organization, limit=3, limit_usage=100, expires={"ttl": 30, "timeframe": "day"}
    )
    product = product_with(organization, benefit)
    customer = CustomerFactory(organization=organization)
    subscription_id = uuid.uuid4()
    [grant] = benefit_grants_create_for(customer=customer, product=product, subscription_id=subscription_id)

    key = LicenseKey.objects.get(grant=grant)
    assert key.key.startswith("ACME-")
    assert (key.limit_activations, key.limit_usage, key.status) == (3, 100, "granted")
    assert (key.expires_at - grant.granted_at).days == 30
    assert grant.properties == {"license_key_id": str(key.pk), "display_key": key.display_key}

    benefit_grants_revoke_for(customer=customer, subscription_id=subscription_id)
    key.refresh_from_db()
    assert key.status == "revoked"


@pytest.mark.django_db
def test_regranting_the_same_subscription_gives_back_the_same_key(organization):
    product = product_with(organization, make_license_keys_benefit(organization=organization))
    customer = CustomerFactory(organization=organization)
    subscription_id = uuid.uuid4()
    benefit_grants_create_for(customer=customer, product=product, subscription_id=subscription_id)
    original = LicenseKey.objects.get()
    benefit_grants_revoke_for(customer=customer, subscription_id=subscription_id)
    [regrant] = benefit_grants_create_for(customer=customer, product=product, subscription_id=subscription_id)

    key = LicenseKey.objects.get()
    assert (key.pk, key.key, key.status, key.grant_id) == (original.pk, original.key, "granted", regrant.pk)


@pytest.mark.django_db
def test_meter_credit_grant_is_listed_for_the_usage_module(organization):
    meter = MeterFactory(organization=organization)
    benefit = make_benefit(
        organization=organization,
        type="meter_credit",
        description="Credits",
        properties={"units": 500, "rollover": False, "meter_id": meter.pk},
    )
    product = product_with(organization, benefit)
    customer = CustomerFactory(organization=organization)
    benefit_grants_create_for(customer=customer, product=product, subscription_id=uuid.uuid4())
    [grant] = meter_credit_grants_active(customer=customer)
    assert (grant.benefit.meter_id, grant.benefit.properties["units"]) == (meter.pk, 500)
    assert grant.properties["last_credited_units"] == 500


@pytest.mark.django_db
def test_sync_grants_new_benefits_and_revokes_removed_ones(organization):
    old = make_benefit(organization=organization, description="Old")
    new = make_benefit(organization=organization, description="New")
    product = product_with(organization, old)
    customer = CustomerFactory(organization=organization)
    subscription_id = uuid.uuid4()
    benefit_grants_create_for(customer=customer, product=product, subscription_id=subscription_id)

    product_benefits_set(product=product, benefits=[new.pk])
    created, revoked = benefit_grants_sync_for(customer=customer, product=product, subscription_id=subscription_id)

    assert [grant.benefit_id for grant in created] == [new.pk]
    assert [grant.benefit_id for grant in revoked] == [old.pk]
    assert benefit_grants_sync_for(customer=customer, product=product, subscription_id=subscription_id) == ([], [])


@pytest.mark.django_db
def test_customer_of_another_organization_is_refused(organization, other_organization):
    product = product_with(organization, make_benefit(organization=organization))
    with pytest.raises(ValueError):
        benefit_grants_create_for(
            customer=CustomerFactory(organization=other_organization), product=product, order_id=uuid.uuid4()
        )


@pytest.mark.django_db(transaction=True)
def test_concurrent_grants_for_one_subscription_create_one_grant_per_benefit():
    organization = OrganizationFactory(slug="grant-race")
    product = product_with(
        organization, make_benefit(organization=organization), make_license_keys_benefit(organization=organization)
    )
    customer = CustomerFactory(organization=organization)
    subscription_id = uuid.uuid4()
    barrier = threading.Barrier(5)
    errors = []

    def grant():
        try:
            barrier.wait()
            benefit_grants_create_for(customer=customer, product=product, subscription_id=subscription_id)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=grant) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert BenefitGrant.objects.filter(subscription_id=subscription_id, revoked_at__isnull=True).count() == 2
    assert LicenseKey.objects.count() == 1
    assert WebhookEvent.objects.filter(type="benefit_grant.created").count() == 2
