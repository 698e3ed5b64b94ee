"""The demo's billing history (``make demo``): a metered plan with three months of renewals and a plan change."""
from polar.organizations.demo import DemoSeed, demo_seed_step


@demo_seed_step("billing", order=100, atomic=False)
def seed_billing(seed: DemoSeed) -> None:
    from billing.models import Order
    from billing.renewals.demo import seed_demo_billing

    before = Order.objects.filter(organization=seed.organization).count()
    seed_demo_billing(organization_slug=seed.organization.slug)
    seed.count("billing", Order.objects.filter(organization=seed.organization).count() - before)
