import pytest

from billing.models import SandboxSettings
from tests.factories import CustomerFactory


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, email="ada@example.com")


@pytest.fixture
def other_customer(other_organization):
    return CustomerFactory(organization=other_organization, email="bob@example.com")


@pytest.fixture
def sandbox_fault(db, settings):
    """Call with a fault name to switch the sandbox (through the admin-editable row)."""
    settings.SANDBOX_PROCESSOR_FAULT = ""

    def switch(fault):
        SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": fault})

    return switch
