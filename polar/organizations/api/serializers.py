from rest_framework import serializers

from polar.api.output import BuiltOnceModelSerializer
from polar.money import is_valid_currency
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


class OrganizationOutput(BuiltOnceModelSerializer):
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


# --- input ------------------------------------------------------------------


class OrganizationSubscriptionSettingsInput(serializers.Serializer):
    allow_multiple_subscriptions = serializers.BooleanField(required=False)
    proration_behavior = serializers.ChoiceField(choices=["invoice", "prorate", "next_period"], required=False)
    benefit_revocation_grace_period = serializers.IntegerField(required=False, min_value=0)
    prevent_trial_abuse = serializers.BooleanField(required=False)
    allow_customer_updates = serializers.BooleanField(required=False)


class OrganizationUpdateInput(serializers.Serializer):
    """Polar's OrganizationUpdate. Stored: name, email, website, default_presentment_currency and, from
    subscription_settings, proration_behavior and allow_customer_updates. The other keys Polar accepts
    (avatar_url, socials, details, country, feature/email/portal/dispute settings, embed_hosts,
    default_tax_behavior, sso_enforced) are validated loosely and not stored: this platform renders
    Polar's defaults for them."""

    name = serializers.CharField(min_length=3, max_length=255, required=False, allow_null=True)
    email = serializers.EmailField(required=False, allow_null=True, allow_blank=True)
    website = serializers.URLField(required=False, allow_null=True, allow_blank=True)
    default_presentment_currency = serializers.CharField(required=False, allow_null=True)
    subscription_settings = OrganizationSubscriptionSettingsInput(required=False, allow_null=True)
    avatar_url = serializers.URLField(required=False, allow_null=True)
    socials = serializers.ListField(child=serializers.DictField(), required=False, allow_null=True)
    details = serializers.DictField(required=False, allow_null=True)
    country = serializers.CharField(max_length=2, required=False, allow_null=True)
    feature_settings = serializers.DictField(required=False, allow_null=True)
    customer_email_settings = serializers.DictField(required=False, allow_null=True)
    customer_portal_settings = serializers.DictField(required=False, allow_null=True)
    dispute_settings = serializers.DictField(required=False, allow_null=True)
    embed_hosts = serializers.ListField(child=serializers.CharField(max_length=255), required=False, allow_null=True)
    default_tax_behavior = serializers.ChoiceField(
        choices=["location", "inclusive", "exclusive"], required=False, allow_null=True
    )
    sso_enforced = serializers.BooleanField(required=False, allow_null=True)

    def validate_default_presentment_currency(self, value):
        if value is not None and not is_valid_currency(value):
            raise serializers.ValidationError("Input should be a supported currency code (lowercase ISO 4217).")
        return value
