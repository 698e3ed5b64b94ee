from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        from auditlog.registry import auditlog

        from billing.metrics import billing_state
        from polar.observability.metrics import SCRAPE_COLLECTORS

        # Register the tasks in every process, not only in workers: the renewal sweep sends its batch task
        # by name, and an eager run (tests) needs the task registered to run it here.
        from . import tasks  # noqa: F401

        if billing_state not in SCRAPE_COLLECTORS:
            SCRAPE_COLLECTORS.append(billing_state)

        from billing.models import Payment, PaymentMethod

        auditlog.register(PaymentMethod)
        auditlog.register(Payment)

        from billing import models

        # Catalog: what things cost and what buying them grants (money and access).
        for model in (
            models.Product,
            models.ProductPrice,
            models.ProductBenefit,
            models.Discount,
            models.DiscountAmount,
            models.DiscountProduct,
            models.DiscountRedemption,
            models.Benefit,
            models.BenefitGrant,
            models.LicenseKeyActivation,
        ):
            auditlog.register(model)
        # Validation counters are telemetry; the key itself is a secret and stays out of the trail.
        auditlog.register(models.LicenseKey, exclude_fields=["validations", "last_validated_at", "key"])
        # Checkouts, subscriptions and orders: access (what a customer has) and money (what they pay).
        for model in (
            models.Checkout,
            models.Subscription,
            models.SubscriptionPrice,
            models.PendingSubscriptionUpdate,
            models.SubscriptionProration,
            models.OrderItem,
            models.TaxRate,
        ):
            auditlog.register(model)
        # An order's pricing inputs are written once with it, never changed, and kept on the row (billing_verify
        # recomputes every order from them): the trail records the order's amounts and states, not a second copy.
        auditlog.register(models.Order, exclude_fields=["pricing_inputs"])
        # Money given back (the ledger itself is append-only and needs no trail of its own: docs/ledger.md).
        auditlog.register(models.Refund)
        # Four-eyes requests: who asked for a refund or payout above the threshold, who decided.
        auditlog.register(models.ApprovalRequest)
        # Disputes (money held back, the evidence staff record), checkout links and custom fields (what a
        # buyer is offered and asked), seats (access), the sandbox processor's settings (configuration).
        for model in (
            models.Dispute,
            models.CheckoutLink,
            models.CheckoutLinkProduct,
            models.CheckoutProduct,
            models.CustomField,
            models.ProductCustomField,
            models.CustomerSeat,
            models.SandboxSettings,
        ):
            auditlog.register(model)
        # Meters decide what usage is billed; events themselves are an append-only stream, not audited row by row.
        auditlog.register(models.Meter)
        # Customer sessions are access: who could act as a customer, until when (the token hash stays out).
        auditlog.register(models.CustomerSession, exclude_fields=["token_hash"])

        # Dunning: the retry schedule of a failed order and every charge tried for it (money).
        for model in (models.DunningSettings, models.DunningCase, models.DunningAttempt):
            auditlog.register(model)

        # A declined renewal opens its dunning case (billing.renewals.cycle calls the hooks; renewals and
        # dunning never import each other's services).
        from billing.dunning.services import dunning_on_renewal_failed
        from billing.renewals.cycle import RENEWAL_PAYMENT_FAILED_HOOKS

        if dunning_on_renewal_failed not in RENEWAL_PAYMENT_FAILED_HOOKS:
            RENEWAL_PAYMENT_FAILED_HOOKS.append(dunning_on_renewal_failed)
        # The seats of a subscription end with it. billing.seats reaches the subscriptions (through the portal's
        # customer sessions), so the subscriptions cannot import it: they call it through their hooks.
        from billing.seats.services import seats_revoke_for_ended_subscription
        from billing.subscriptions.services import SUBSCRIPTION_ENDED_HOOKS

        if seats_revoke_for_ended_subscription not in SUBSCRIPTION_ENDED_HOOKS:
            SUBSCRIPTION_ENDED_HOOKS.append(seats_revoke_for_ended_subscription)
        # Dunning e-mails link into the portal with a customer session (the portal calls dunning, so
        # dunning cannot import the portal: the link is installed here).
        from billing.dunning import emails as dunning_emails

        dunning_emails.PORTAL_LINK_PROVIDER = portal_link_for_customer


def portal_link_for_customer(customer) -> str:
    """A portal link that signs ``customer`` in (a new customer session, ``billing.portal.sessions``)."""
    from billing.portal.sessions import customer_portal_url, customer_session_create

    _session, raw = customer_session_create(customer=customer)
    return customer_portal_url(token=raw)
