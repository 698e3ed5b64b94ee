from rest_framework import serializers

from polar.organizations.models import Organization

# Settings this platform does not make configurable yet, rendered with Polar's defaults so that
# both SDKs (which require the keys) accept the resource.
_CUSTOMER_EMAIL_SETTINGS = {
    key: True
    for key in (
        "order_confirmation",
        "subscription_cancellation",
        "subscription_confirmation",
        "subscription_cycled",
        "subscription_cycled_after_trial",
        "subscription_past_due",
        "subscription_paused",
        "subscription_resumed",
        "subscription_renewal_reminder",
        "subscription_revoked",
        "subscription_trial_conversion_reminder",
        "subscription_uncanceled",
        "subscription_updated",
        "payment_method_expiration_reminder",
    )
}


class OrganizationOutput(serializers.ModelSerializer):
    avatar_url = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()
    website = serializers.SerializerMethodField()
    socials = serializers.SerializerMethodField()
    details_submitted_at = serializers.SerializerMethodField()
    onboarding_resubmission_requested_at = serializers.SerializerMethodField()
    sso_enforced = serializers.SerializerMethodField()
    default_tax_behavior = serializers.SerializerMethodField()
    feature_settings = serializers.SerializerMethodField()
    subscription_settings = serializers.SerializerMethodField()
    customer_email_settings = serializers.SerializerMethodField()
    customer_portal_settings = serializers.SerializerMethodField()
    dispute_settings = serializers.SerializerMethodField()
    embed_hosts = serializers.SerializerMethodField()
    country = serializers.SerializerMethodField()
    account_id = serializers.SerializerMethodField()
    payout_account_id = serializers.SerializerMethodField()
    capabilities = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = [
            "id",
            "created_at",
            "modified_at",
            "name",
            "slug",
            "avatar_url",
            "proration_behavior",
            "allow_customer_updates",
            "email",
            "website",
            "socials",
            "status",
            "details_submitted_at",
            "onboarding_resubmission_requested_at",
            "sso_enforced",
            "default_presentment_currency",
            "default_tax_behavior",
            "feature_settings",
            "subscription_settings",
            "customer_email_settings",
            "customer_portal_settings",
            "dispute_settings",
            "embed_hosts",
            "country",
            "account_id",
            "payout_account_id",
            "capabilities",
        ]

    def get_avatar_url(self, obj) -> str | None:
        return None

    def get_email(self, obj) -> str | None:
        return obj.email or None

    def get_website(self, obj) -> str | None:
        return obj.website or None

    def get_socials(self, obj) -> list[dict]:
        return []

    def get_details_submitted_at(self, obj) -> str | None:
        return None

    def get_onboarding_resubmission_requested_at(self, obj) -> str | None:
        return None

    def get_sso_enforced(self, obj) -> bool:
        return False

    def get_default_tax_behavior(self, obj) -> str:
        return "location"

    def get_feature_settings(self, obj) -> dict:
        return {"seat_based_pricing_enabled": True}

    def get_subscription_settings(self, obj) -> dict:
        return {
            "allow_multiple_subscriptions": True,
            "proration_behavior": obj.proration_behavior,
            "benefit_revocation_grace_period": 0,
            "prevent_trial_abuse": False,
            "allow_customer_updates": obj.allow_customer_updates,
        }

    def get_customer_email_settings(self, obj) -> dict:
        return dict(_CUSTOMER_EMAIL_SETTINGS)

    def get_customer_portal_settings(self, obj) -> dict:
        return {"usage": {"show": True}, "subscription": {"update_seats": True, "update_plan": True}}

    def get_dispute_settings(self, obj) -> dict:
        return {"auto_accept_below_amount": None}

    def get_embed_hosts(self, obj) -> list[str]:
        return []

    def get_country(self, obj) -> str | None:
        return None

    def get_account_id(self, obj) -> str | None:
        return None

    def get_payout_account_id(self, obj) -> str | None:
        return None

    def get_capabilities(self, obj) -> dict:
        usable = obj.can_use_api()
        return {
            "checkout_payments": usable,
            "subscription_renewals": usable,
            "payouts": usable,
            "refunds": usable,
            "api_access": usable,
            "dashboard_access": True,
        }
