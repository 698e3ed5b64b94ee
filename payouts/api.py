"""``GET /v1/transactions/`` (the organization's ledger lines) and ``GET /v1/transactions/summary``
(balance, pending and available per currency). Neither polar-sdk 0.32 nor 1.0.2 has these operations;
the shapes follow Polar's ``Transaction``/``TransactionsSummary`` (docs/ledger.md says what maps to what).

Scope: Polar's ``transactions:read`` (or write)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from payouts import selectors
from payouts.payloads import TransactionOutput, summary_output
from polar.api.views import PolarAPIView

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
        child=serializers.ChoiceField(choices=["pending", "available", "reserve", "in_transit"]), required=False
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
