"""``GET /v1/transactions/`` (the organization's ledger lines) and ``GET /v1/transactions/summary``
(balance, pending and available per currency), and ``/v1/payouts/`` (list, create, get, estimate). Neither polar-sdk 0.32 nor 1.0.2 has these operations;
the shapes follow Polar's ``Transaction``/``TransactionsSummary`` (docs/ledger.md says what maps to what).

Scope: Polar's ``transactions:read`` (or write)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from payouts import selectors, services
from payouts.payloads import PayoutOutput, TransactionOutput, payout_estimate_output, payout_output, summary_output
from polar.api.views import PolarAPIView
from polar.errors import ResourceNotFound

READ_SCOPES = {"GET": ["transactions:read", "transactions:write"]}


class TransactionListQuery(serializers.Serializer):
    type = serializers.ListField(
        child=serializers.ChoiceField(
            choices=["payment", "processor_fee", "refund", "dispute", "dispute_reversal", "balance", "payout", "payout_reversal"]
        ),
        required=False,
    )
    currency = serializers.CharField(required=False, max_length=3)
    account = serializers.ListField(
        child=serializers.ChoiceField(choices=["pending", "available", "reserve", "in_transit", "debt"]), required=False
    )


class TransactionListApi(PolarAPIView):
    required_scopes = READ_SCOPES

    @extend_schema(operation_id="transactions:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(TransactionListQuery)
        queryset = selectors.merchant_entries(organization_id=self.organization.pk, **query)
        return self.paginated(queryset.order_by(*self.sorting(), "-id"), TransactionOutput)


class TransactionSummaryApi(PolarAPIView):
    required_scopes = READ_SCOPES

    @extend_schema(operation_id="transactions:summary", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return self.respond(summary_output(selectors.merchant_balances(organization_id=self.organization.pk)))


# --- payouts --------------------------------------------------------------------------------------
# Polar serves payouts to users only (a private API); here an organization token with ``payouts:*`` can.
PAYOUT_SCOPES = {"GET": ["payouts:read", "payouts:write"], "POST": ["payouts:write"]}


class PayoutListQuery(serializers.Serializer):
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    status = serializers.ListField(
        child=serializers.ChoiceField(choices=["pending", "in_transit", "succeeded", "failed"]), required=False
    )
    currency = serializers.CharField(required=False, max_length=3)


class PayoutCreateInput(serializers.Serializer):
    # Polar's PayoutCreate names the organization; a token already does, so it must be the token's own.
    organization_id = serializers.UUIDField(required=False)
    currency = serializers.RegexField(r"^[a-zA-Z]{3}$", required=False)


class PayoutListApi(PolarAPIView):
    required_scopes = PAYOUT_SCOPES
    sorting_fields = {"created_at": "created_at", "amount": "amount", "status": "status"}

    @extend_schema(operation_id="payouts:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(PayoutListQuery)
        organization_ids = query.pop("organization_id", None)
        queryset = selectors.payout_list(organization=self.organization, **query)
        if organization_ids and self.organization.pk not in organization_ids:
            queryset = queryset.none()
        return self.paginated(queryset.order_by(*self.sorting(), "-id"), PayoutOutput)

    @extend_schema(operation_id="payouts:create", request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = self.parse_body(PayoutCreateInput)
        if data.get("organization_id") not in (None, self.organization.pk):
            raise ResourceNotFound("Organization not found.")
        payout = services.payout_create(organization=self.organization, currency=data.get("currency"))
        return self.respond(payout_output(selectors.payout_get(organization=self.organization, id=payout.id)), status=201)


class PayoutEstimateApi(PolarAPIView):
    required_scopes = PAYOUT_SCOPES

    @extend_schema(operation_id="payouts:get_estimate", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        currency = request.query_params.get("currency")
        return self.respond(payout_estimate_output(services.payout_estimate(organization=self.organization, currency=currency)))


class PayoutApi(PolarAPIView):
    required_scopes = PAYOUT_SCOPES

    @extend_schema(operation_id="payouts:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        payout = selectors.payout_get(organization=self.organization, id=id)
        if payout is None:
            raise ResourceNotFound()
        return self.respond(payout_output(payout))
