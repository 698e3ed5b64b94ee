"""Demo seeding for payouts: the demo organization gets a verified sandbox bank account with automatic weekly
payouts, so the simulated months of ``seed_demo_billing`` end with payouts paid (and one still in transit).
Idempotent: the account is created once and left as it is afterwards."""

from payouts.models import PayoutAccount
from payouts.services import payout_account_settings_update, payout_account_upsert
from polar.organizations.demo import DemoSeed, demo_seed_step


def demo_payout_account(organization) -> PayoutAccount:
    account = PayoutAccount.objects.filter(organization=organization).first()
    if account is not None and account.account_number:
        return account
    payout_account_upsert(
        organization=organization,
        account_holder_name=organization.name,
        account_number="000123456789",
        routing_number="110000000",
        bank_name="Sandbox Bank",
        verified=True,
    )
    return payout_account_settings_update(organization=organization, auto_payouts=True)


@demo_seed_step("payout_account", order=90)
def seed_payout_account(seed: DemoSeed) -> None:
    if not PayoutAccount.objects.filter(organization=seed.organization).exclude(account_number="").exists():
        demo_payout_account(seed.organization)
        seed.count("payout_account")
