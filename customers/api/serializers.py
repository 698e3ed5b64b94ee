"""Wire shapes of customers: input serializers (Polar's CustomerCreate/CustomerUpdate) and the output
carrying every field both SDKs require (0.32.x and 1.0.x: the union, incl. ``type`` and ``first_user_event_at``)."""
import hashlib

from rest_framework import serializers

from customers.models import Customer
from polar.api.metadata import MetadataField

# ISO 3166-1 alpha-2 codes Polar accepts on input (AddressInput); CU, IR, KP, RU and SY are refused.
COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY
    BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO
    FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IS IT JE JM
    JO JP KE KG KH KI KM KN KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA
    RE RO RS RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT
    TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW""".split()
)
ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "state", "country")


class AddressInput(serializers.Serializer):
    line1 = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=256)
    line2 = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=256)
    postal_code = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=64)
    city = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=256)
    state = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=256)
    country = serializers.CharField()

    def validate_country(self, value):
        value = value.upper()
        if value not in COUNTRIES:
            raise serializers.ValidationError("Input should be a valid ISO 3166-1 alpha-2 country code", code="enum")
        return value

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        # Stored with every key, blanks as null, so the output shape never varies.
        return {name: (values.get(name) or None) for name in ADDRESS_FIELDS}


class OwnerInput(serializers.Serializer):
    """Polar's MemberOwnerCreate. Accepted for compatibility; team members are not modelled yet."""

    email = serializers.EmailField()
    name = serializers.CharField(required=False, allow_null=True, max_length=256)
    external_id = serializers.CharField(required=False, allow_null=True, max_length=256)


class CustomerCreateInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=Customer.Type.choices, required=False, allow_null=True)
    email = serializers.EmailField(required=False, allow_null=True, max_length=320)
    name = serializers.CharField(required=False, allow_null=True, max_length=256)
    billing_address = AddressInput(required=False, allow_null=True)
    tax_id = serializers.CharField(required=False, allow_null=True, max_length=64)
    locale = serializers.CharField(required=False, allow_null=True, max_length=16)
    external_id = serializers.CharField(required=False, allow_null=True, max_length=256)
    metadata = MetadataField(allow_null=True)
    organization_id = serializers.UUIDField(required=False, allow_null=True)
    owner = OwnerInput(required=False, allow_null=True)

    def validate(self, attrs):
        attrs["type"] = attrs.get("type") or Customer.Type.INDIVIDUAL
        if attrs["type"] == Customer.Type.INDIVIDUAL and not attrs.get("email"):
            raise serializers.ValidationError({"email": serializers.ErrorDetail("Field required", code="missing")})
        organization_id = attrs.pop("organization_id", None)
        view = self.context.get("view")
        if organization_id is not None and view is not None and organization_id != view.organization.id:
            raise serializers.ValidationError(
                {"organization_id": serializers.ErrorDetail("Organization not found.", code="value_error")}
            )
        attrs.pop("owner", None)
        return attrs


class CustomerUpdateExternalInput(serializers.Serializer):
    """Polar's CustomerUpdateExternalID: the external id and type are not changeable through it."""

    email = serializers.EmailField(required=False, allow_null=True, max_length=320)
    name = serializers.CharField(required=False, allow_null=True, max_length=256)
    billing_address = AddressInput(required=False, allow_null=True)
    tax_id = serializers.CharField(required=False, allow_null=True, max_length=64)
    locale = serializers.CharField(required=False, allow_null=True, max_length=16)
    metadata = MetadataField(allow_null=True)


class CustomerUpdateInput(CustomerUpdateExternalInput):
    external_id = serializers.CharField(required=False, allow_null=True, max_length=256)
    type = serializers.ChoiceField(choices=Customer.Type.choices, required=False, allow_null=True)


class CustomerListQuery(serializers.Serializer):
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    email = serializers.CharField(required=False)
    query = serializers.CharField(required=False)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


class CustomerDeleteQuery(serializers.Serializer):
    anonymize = serializers.BooleanField(required=False, default=False)


def avatar_url(email: str | None) -> str | None:
    if not email:
        return None
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?d=404"


class CustomerOutput(serializers.ModelSerializer):
    organization_id = serializers.UUIDField()
    metadata = MetadataField()
    billing_name = serializers.SerializerMethodField()
    billing_address = serializers.SerializerMethodField()
    avatar_url = serializers.SerializerMethodField()
    default_payment_method_id = serializers.UUIDField(allow_null=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "created_at",
            "modified_at",
            "metadata",
            "external_id",
            "email",
            "email_verified",
            "type",
            "name",
            "billing_name",
            "billing_address",
            "tax_id",
            "locale",
            "organization_id",
            "default_payment_method_id",
            "deleted_at",
            "first_user_event_at",
            "avatar_url",
        ]

    def get_billing_name(self, customer) -> str | None:
        # Polar falls back to the customer's name when no billing name was given.
        return customer.billing_name or customer.name

    def get_billing_address(self, customer) -> dict | None:
        if not customer.billing_address:
            return None
        return {name: customer.billing_address.get(name) for name in ADDRESS_FIELDS}

    def get_avatar_url(self, customer) -> str | None:
        return avatar_url(customer.email)


class CustomerStateOutput(CustomerOutput):
    """The customer plus what merchants gate features on; the lists come from ``customer_state()``."""

    active_subscriptions = serializers.SerializerMethodField()
    granted_benefits = serializers.SerializerMethodField()
    active_meters = serializers.SerializerMethodField()

    class Meta(CustomerOutput.Meta):
        fields = [*CustomerOutput.Meta.fields, "active_subscriptions", "granted_benefits", "active_meters"]

    def _state(self, customer) -> dict:
        return self.context["state"]

    def get_active_subscriptions(self, customer) -> list:
        return self._state(customer)["active_subscriptions"]

    def get_granted_benefits(self, customer) -> list:
        return self._state(customer)["granted_benefits"]

    def get_active_meters(self, customer) -> list:
        return self._state(customer)["active_meters"]
