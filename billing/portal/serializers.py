"""Input of the customer-session and customer-portal operations (Polar's request shapes)."""

from rest_framework import serializers

from billing.models import CustomerCancellationReason
from polar.api.fields import AddressInput, SeatsField


class CustomerSessionCreateInput(serializers.Serializer):
    """Polar's ``CustomerSessionCustomerIDCreate | CustomerSessionCustomerExternalIDCreate``. The member
    fields are accepted and unused: members are not modelled (Polar ignores them too without its member model)."""

    customer_id = serializers.UUIDField(required=False)
    external_customer_id = serializers.CharField(required=False, max_length=256)
    # Polar's older name of external_customer_id (its validation alias).
    customer_external_id = serializers.CharField(required=False, max_length=256, write_only=True)
    return_url = serializers.URLField(required=False, allow_null=True, max_length=2048)
    member_id = serializers.UUIDField(required=False, allow_null=True)
    external_member_id = serializers.CharField(required=False, allow_null=True, max_length=256)

    def validate(self, attrs):
        if "customer_external_id" in attrs:
            attrs.setdefault("external_customer_id", attrs.pop("customer_external_id"))
        if "customer_id" not in attrs and "external_customer_id" not in attrs:
            raise serializers.ValidationError({"customer_id": ["Field required"]})
        return attrs


def _ids():
    return serializers.ListField(child=serializers.UUIDField(), required=False)


class PortalCustomerUpdateInput(serializers.Serializer):
    """Polar's ``CustomerPortalCustomerUpdate``."""

    billing_name = serializers.CharField(required=False, allow_null=True, max_length=256)
    billing_address = AddressInput(required=False, allow_null=True)
    tax_id = serializers.CharField(required=False, allow_null=True, max_length=64)
    default_payment_method_id = serializers.UUIDField(required=False, allow_null=True)


class PortalPaymentMethodCreateInput(serializers.Serializer):
    """Polar's ``CustomerPaymentMethodCreate``: ``confirmation_token_id`` is the processor's token (in the
    sandbox a test card such as ``pm_card_visa``). The sandbox never asks for a further action, so
    ``return_url`` is accepted and not used."""

    confirmation_token_id = serializers.CharField(max_length=255)
    set_default = serializers.BooleanField()
    return_url = serializers.CharField(required=False, allow_null=True, max_length=2048)


class PortalPaymentMethodConfirmInput(serializers.Serializer):
    """Polar's ``CustomerPaymentMethodConfirm``: completes a card set-up that needed an action. The sandbox
    has none pending, so ``setup_intent_id`` is taken as the card's token and saved as ``add`` does."""

    setup_intent_id = serializers.CharField(max_length=255)
    set_default = serializers.BooleanField()


class PortalSubscriptionUpdateInput(serializers.Serializer):
    """Polar's ``CustomerSubscriptionUpdate`` union, flattened: a new product, a seat count, a quantity of
    a unit-based price (``units``), or a cancellation (``cancel_at_period_end``, with the reason and comment)."""

    product_id = serializers.UUIDField(required=False)
    seats = SeatsField(required=False)
    units = SeatsField(required=False)
    cancel_at_period_end = serializers.BooleanField(required=False, allow_null=True)
    cancellation_reason = serializers.ChoiceField(choices=CustomerCancellationReason.choices, required=False, allow_null=True)
    cancellation_comment = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=5000)

    KINDS = ("product_id", "seats", "units", "cancel_at_period_end")

    def validate(self, data):
        kinds = [kind for kind in self.KINDS if kind in self.initial_data]
        if not kinds and ("cancellation_reason" in self.initial_data or "cancellation_comment" in self.initial_data):
            kinds = ["cancel_at_period_end"]
        if len(kinds) != 1:
            raise serializers.ValidationError({"non_field_errors": f"Send exactly one of: {', '.join(self.KINDS)}."})
        data["kind"] = kinds[0]
        return data


class PortalSubscriptionCancelInput(serializers.Serializer):
    cancellation_reason = serializers.ChoiceField(choices=CustomerCancellationReason.choices, required=False, allow_null=True)
    cancellation_comment = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=5000)


class PortalOrderConfirmPaymentInput(serializers.Serializer):
    """Polar's ``CustomerOrderConfirmPayment``: a saved card of the customer, or a new card token."""

    confirmation_token_id = serializers.CharField(required=False, allow_null=True, max_length=255)
    payment_method_id = serializers.UUIDField(required=False, allow_null=True)
    payment_processor = serializers.CharField(required=False, max_length=32)


class PortalSubscriptionListQuery(serializers.Serializer):
    product_id = _ids()
    active = serializers.BooleanField(required=False, allow_null=True, default=None)
    query = serializers.CharField(required=False, max_length=256)


class PortalOrderListQuery(serializers.Serializer):
    product_id = _ids()
    product_billing_type = serializers.ListField(child=serializers.ChoiceField(choices=["one_time", "recurring"]), required=False)
    subscription_id = _ids()
    query = serializers.CharField(required=False, max_length=256)


class PortalBenefitGrantListQuery(serializers.Serializer):
    type = serializers.ListField(child=serializers.CharField(max_length=32), required=False)
    benefit_id = _ids()
    checkout_id = _ids()
    order_id = _ids()
    subscription_id = _ids()
    member_id = _ids()
    query = serializers.CharField(required=False, max_length=256)


class PortalLicenseKeyListQuery(serializers.Serializer):
    benefit_id = _ids()


class PortalCustomerMeterListQuery(serializers.Serializer):
    meter_id = _ids()
    query = serializers.CharField(required=False, max_length=256)


class PortalMemberCreateInput(serializers.Serializer):
    """Polar's ``CustomerPortalMemberCreate``."""

    email = serializers.EmailField(max_length=320)
    name = serializers.CharField(required=False, allow_null=True, max_length=256)
    role = serializers.ChoiceField(choices=["owner", "billing_manager", "member"], default="member")

    def validate_role(self, value):
        if value == "owner":
            raise serializers.ValidationError("Cannot add a member as owner. There must be exactly one owner.")
        return value


class PortalMemberUpdateInput(serializers.Serializer):
    """Polar's ``CustomerPortalMemberUpdate``."""

    name = serializers.CharField(required=False, allow_null=True, max_length=256)
    role = serializers.ChoiceField(choices=["owner", "billing_manager", "member"], required=False, allow_null=True)


class PortalEmailUpdateRequestInput(serializers.Serializer):
    """Polar's ``CustomerEmailUpdateRequest``."""

    email = serializers.EmailField(max_length=320)


class PortalEmailUpdateVerifyInput(serializers.Serializer):
    """Polar's ``CustomerEmailUpdateVerifyRequest``: the token from the verification e-mail."""

    token = serializers.CharField(max_length=2048)
