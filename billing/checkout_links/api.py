"""``/v1/checkout-links/``: CRUD with an organization token, and the public
``GET /v1/checkout-links/{client_secret}/redirect`` that opens a fresh checkout and sends the buyer to
its hosted page (Polar's checkout link URL)."""

from urllib.parse import urlencode

from django.http import HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny

from billing.checkout_links import selectors, services
from billing.checkout_links.payloads import CheckoutLinkOutput
from billing.checkout_links.serializers import (
    CheckoutLinkCreateInput,
    CheckoutLinkListQuery,
    CheckoutLinkRedirectQuery,
    CheckoutLinkUpdateInput,
)
from billing.checkouts.payloads import checkout_url
from polar.api.views import PolarAPIView
from polar.errors import ResourceNotFound


class CheckoutLinkListApi(PolarAPIView):
    scope = "checkout_links"
    sorting_fields = {
        "created_at": "created_at",
        "label": "label",
        "success_url": "success_url",
        "allow_discount_codes": "allow_discount_codes",
    }

    @extend_schema(operation_id="checkout-links:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(CheckoutLinkListQuery)
        queryset = selectors.checkout_link_list(organization=self.organization, **query).order_by(*self.sorting())
        return self.paginated(queryset, CheckoutLinkOutput)

    @extend_schema(operation_id="checkout-links:create", request=CheckoutLinkCreateInput, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        data = self.parse_body(CheckoutLinkCreateInput)
        data.pop("payment_processor", None)
        link = services.checkout_link_create(organization=self.organization, **data)
        link = selectors.checkout_link_get(organization=self.organization, id=link.pk)
        return self.respond(CheckoutLinkOutput(link).data, status=201)


class CheckoutLinkDetailApi(PolarAPIView):
    scope = "checkout_links"

    def get_link(self, id):
        link = selectors.checkout_link_get(organization=self.organization, id=self.parse_id(id))
        if link is None:
            raise ResourceNotFound()
        return link

    @extend_schema(operation_id="checkout-links:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        return self.respond(CheckoutLinkOutput(self.get_link(id)).data)

    @extend_schema(operation_id="checkout-links:update", request=CheckoutLinkUpdateInput, responses=OpenApiTypes.OBJECT)
    def patch(self, request, id):
        link = self.get_link(id)
        data = self.parse_body(CheckoutLinkUpdateInput, partial=True)
        services.checkout_link_update(link=link, **data)
        return self.respond(CheckoutLinkOutput(selectors.checkout_link_get(organization=self.organization, id=link.pk)).data)

    @extend_schema(operation_id="checkout-links:delete", responses={204: None})
    def delete(self, request, id):
        services.checkout_link_delete(link=self.get_link(id))
        return self.respond(None, status=204)


_PREFILL = set(CheckoutLinkRedirectQuery().fields)
_QUERY_METADATA = ("reference_id", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


class CheckoutLinkRedirectApi(PolarAPIView):
    """The link's URL: no token (the client secret is public), a new checkout per visit, then a 302 to
    the hosted checkout page. Parameters the link does not consume travel on to the page, as on Polar."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def idempotency_organization(self):
        return None

    @extend_schema(exclude=True)
    def get(self, request, client_secret):
        link = selectors.checkout_link_get_by_client_secret(client_secret=client_secret)
        if link is None:
            raise ResourceNotFound()
        # Empty parameters mean "not given" (Polar's EmptyStrToNone); a malformed one is a 422.
        query = self.parse_query(CheckoutLinkRedirectQuery)
        query = {key: value for key, value in query.items() if value not in (None, "")}
        checkout = services.checkout_link_open(
            link=link,
            product_id=query.get("product_id"),
            customer_email=query.get("customer_email"),
            customer_name=query.get("customer_name"),
            discount_code=query.get("discount_code"),
            locale=query.get("locale"),
            embed_origin=query.get("embed_origin"),
            query_metadata={key: query[key] for key in _QUERY_METADATA if key in query},
        )
        rest = [(key, value) for key, value in request.query_params.items() if key not in _PREFILL]
        url = checkout_url(checkout) + (f"?{urlencode(rest)}" if rest else "")
        return HttpResponseRedirect(url)
