from django.urls import path

from billing import customers_api
from billing.payments import api as payments_api

urlpatterns: list = []
urlpatterns += [
    # customers/<id>/... (external ids are one segment: billing.customers_urls).
    path("customers/<str:id>/state", customers_api.CustomerStateApi.as_view(), name="customers-state"),
    path(
        "customers/<str:id>/payment-methods",
        payments_api.CustomerPaymentMethodListApi.as_view(),
        name="customers-payment-methods",
    ),
    path(
        "customers/<str:id>/payment-methods/<str:payment_method_id>",
        payments_api.CustomerPaymentMethodDetailApi.as_view(),
        name="customers-payment-methods-detail",
    ),
    path("payments/", payments_api.PaymentListApi.as_view(), name="payments-list"),
    path("payments/<str:id>", payments_api.PaymentDetailApi.as_view(), name="payments-detail"),
]

from billing.benefits import api as benefits  # noqa: E402
from billing.catalog import api as products  # noqa: E402
from billing.discounts import api as discounts  # noqa: E402
from billing.license_keys import api as license_keys  # noqa: E402
from billing.portal import api_license_keys as portal_keys  # noqa: E402

urlpatterns += [
    path("products/", products.ProductListApi.as_view(), name="products-list"),
    path("products/<str:id>", products.ProductDetailApi.as_view(), name="products-detail"),
    path("products/<str:id>/benefits", products.ProductBenefitsApi.as_view(), name="products-benefits"),
    path("products/<str:id>/prices", products.ProductPriceHistoryApi.as_view(), name="products-prices"),
    path("discounts/", discounts.DiscountListApi.as_view(), name="discounts-list"),
    path("discounts/<str:id>", discounts.DiscountDetailApi.as_view(), name="discounts-detail"),
    path("benefits/", benefits.BenefitListApi.as_view(), name="benefits-list"),
    path("benefits/<str:id>", benefits.BenefitDetailApi.as_view(), name="benefits-detail"),
    path("benefits/<str:id>/grants", benefits.BenefitGrantListApi.as_view(), name="benefits-grants"),
    path("benefit-grants/", benefits.OrganizationBenefitGrantListApi.as_view(), name="benefit-grants-list"),
    path("license-keys/", license_keys.LicenseKeyListApi.as_view(), name="license-keys-list"),
    # Polar's organization-level twins of the customer-portal endpoints (polar-sdk 0.32 calls these).
    path("license-keys/validate", license_keys.OrgLicenseKeyValidateApi.as_view(), name="org-license-keys-validate"),
    path("license-keys/activate", license_keys.OrgLicenseKeyActivateApi.as_view(), name="org-license-keys-activate"),
    path("license-keys/deactivate", license_keys.OrgLicenseKeyDeactivateApi.as_view(), name="org-license-keys-deactivate"),
    path("license-keys/<str:id>", license_keys.LicenseKeyDetailApi.as_view(), name="license-keys-detail"),
    path("license-keys/<str:id>/rotate", license_keys.LicenseKeyRotateApi.as_view(), name="license-keys-rotate"),
    path(
        "license-keys/<str:id>/activations/<str:activation_id>",
        license_keys.LicenseKeyActivationDetailApi.as_view(),
        name="license-keys-activation-detail",
    ),
    # The customer-portal versions (public on Polar: no credential, a customer session or a token).
    path(
        "customer-portal/license-keys/validate", portal_keys.PortalLicenseKeyValidateApi.as_view(), name="license-keys-validate"
    ),
    path(
        "customer-portal/license-keys/activate", portal_keys.PortalLicenseKeyActivateApi.as_view(), name="license-keys-activate"
    ),
    path(
        "customer-portal/license-keys/deactivate",
        portal_keys.PortalLicenseKeyDeactivateApi.as_view(),
        name="license-keys-deactivate",
    ),
]

from billing.checkout_links import api as checkout_links  # noqa: E402
from billing.checkouts import api as checkouts  # noqa: E402
from billing.custom_fields import api as custom_fields  # noqa: E402
from billing.exports import api as exports  # noqa: E402
from billing.orders import api as orders  # noqa: E402
from billing.subscriptions import api as subscriptions  # noqa: E402

urlpatterns += [
    path("subscriptions/", subscriptions.SubscriptionListApi.as_view(), name="subscriptions-list"),
    path("subscriptions/export", exports.SubscriptionExportApi.as_view(), name="subscriptions-export"),
    path("subscriptions/<str:id>", subscriptions.SubscriptionDetailApi.as_view(), name="subscriptions-detail"),
    path("orders/", orders.OrderListApi.as_view(), name="orders-list"),
    path("orders/export", exports.OrderExportApi.as_view(), name="orders-export"),
    path("orders/<str:id>", orders.OrderDetailApi.as_view(), name="orders-detail"),
    path("orders/<str:id>/invoice", orders.OrderInvoiceApi.as_view(), name="orders-invoice"),
    path("orders/<str:id>/receipt", orders.OrderReceiptApi.as_view(), name="orders-receipt"),
    path("orders/<str:id>/finalize", orders.OrderFinalizeApi.as_view(), name="orders-finalize"),
    path("checkouts/", checkouts.CheckoutListApi.as_view(), name="checkouts-list"),
    path("custom-fields/", custom_fields.CustomFieldListApi.as_view(), name="custom-fields-list"),
    path("custom-fields/<str:id>", custom_fields.CustomFieldDetailApi.as_view(), name="custom-fields-detail"),
    path("checkout-links/", checkout_links.CheckoutLinkListApi.as_view(), name="checkout-links-list"),
    path("checkout-links/<str:id>", checkout_links.CheckoutLinkDetailApi.as_view(), name="checkout-links-detail"),
    path(
        "checkout-links/<str:client_secret>/redirect",
        checkout_links.CheckoutLinkRedirectApi.as_view(),
        name="checkout-links-redirect",
    ),
    path("checkouts/client/<str:client_secret>", checkouts.CheckoutClientApi.as_view(), name="checkouts-client"),
    path("checkouts/<str:id>", checkouts.CheckoutDetailApi.as_view(), name="checkouts-detail"),
    path(
        "checkouts/client/<str:client_secret>/confirm",
        checkouts.CheckoutClientConfirmApi.as_view(),
        name="checkouts-client-confirm",
    ),
]


from billing.usage import api_customer_meters as customer_meters_api  # noqa: E402
from billing.usage import api_events as events_api  # noqa: E402
from billing.usage import api_meters as meters_api  # noqa: E402

urlpatterns += [
    path("events/ingest", events_api.EventsIngestApi.as_view(), name="events-ingest"),
    path("events/", events_api.EventListApi.as_view(), name="events-list"),
    path("events/names", events_api.EventNameListApi.as_view(), name="events-names"),
    path("events/<str:id>", events_api.EventDetailApi.as_view(), name="events-detail"),
    path("event-types/", events_api.EventTypeListApi.as_view(), name="event-types-list"),
    path("event-types/<str:id>", events_api.EventTypeDetailApi.as_view(), name="event-types-detail"),
    path("meters/", meters_api.MeterListApi.as_view(), name="meters-list"),
    path("meters/<str:id>/quantities", meters_api.MeterQuantitiesApi.as_view(), name="meters-quantities"),
    path("meters/<str:id>", meters_api.MeterDetailApi.as_view(), name="meters-detail"),
    path("customer-meters/", customer_meters_api.CustomerMeterListApi.as_view(), name="customer-meters-list"),
    path("customer-meters/<str:id>", customer_meters_api.CustomerMeterDetailApi.as_view(), name="customer-meters-detail"),
]

from billing.renewals import api as upcoming_api  # noqa: E402

urlpatterns += [
    path("subscriptions/<str:id>/upcoming", upcoming_api.SubscriptionUpcomingApi.as_view(), name="subscriptions-upcoming"),
]

from billing.refunds import api as refunds_api  # noqa: E402

urlpatterns += [
    path("refunds/", refunds_api.RefundListApi.as_view(), name="refunds-list"),
]

from payouts import api as transactions_api  # noqa: E402

urlpatterns += [
    path("transactions/", transactions_api.TransactionListApi.as_view(), name="transactions-list"),
    path("transactions/summary", transactions_api.TransactionSummaryApi.as_view(), name="transactions-summary"),
    path("payouts/", transactions_api.PayoutListApi.as_view(), name="payouts-list"),
    path("payouts/estimate", transactions_api.PayoutEstimateApi.as_view(), name="payouts-estimate"),
    path("payouts/<uuid:id>", transactions_api.PayoutApi.as_view(), name="payouts-get"),
]

from billing.disputes import api as disputes_api  # noqa: E402

urlpatterns += [
    path("disputes/", disputes_api.DisputeListApi.as_view(), name="disputes-list"),
    path("disputes/<uuid:id>", disputes_api.DisputeApi.as_view(), name="disputes-get"),
    path("disputes/<uuid:id>/accept", disputes_api.DisputeAcceptApi.as_view(), name="disputes-accept"),
]

from billing.portal import api as portal_api  # noqa: E402

urlpatterns += [
    path("customer-sessions/", portal_api.CustomerSessionCreateApi.as_view(), name="customer-sessions-create"),
    path(
        "customer-portal/customer-session/introspect",
        portal_api.CustomerSessionIntrospectApi.as_view(),
        name="portal-session-introspect",
    ),
    path("customer-portal/customer-session/user", portal_api.CustomerSessionUserApi.as_view(), name="portal-session-user"),
    path("customer-portal/customers/me", portal_api.PortalCustomerMeApi.as_view(), name="portal-customers-me"),
    path(
        "customer-portal/customers/me/email-update/request",
        portal_api.PortalEmailUpdateRequestApi.as_view(),
        name="portal-email-update-request",
    ),
    path(
        "customer-portal/customers/me/email-update/check",
        portal_api.PortalEmailUpdateCheckApi.as_view(),
        name="portal-email-update-check",
    ),
    path(
        "customer-portal/customers/me/email-update/verify",
        portal_api.PortalEmailUpdateVerifyApi.as_view(),
        name="portal-email-update-verify",
    ),
    path(
        "customer-portal/customers/me/payment-methods",
        portal_api.PortalPaymentMethodListApi.as_view(),
        name="portal-payment-methods",
    ),
    path(
        "customer-portal/customers/me/payment-methods/confirm",
        portal_api.PortalPaymentMethodConfirmApi.as_view(),
        name="portal-payment-methods-confirm",
    ),
    path(
        "customer-portal/customers/me/payment-methods/<str:id>",
        portal_api.PortalPaymentMethodDetailApi.as_view(),
        name="portal-payment-methods-detail",
    ),
]

from billing.portal import api_benefits as portal_benefits  # noqa: E402
from billing.portal import api_members as portal_members  # noqa: E402
from billing.portal import api_orders as portal_orders  # noqa: E402
from billing.portal import api_subscriptions as portal_subscriptions  # noqa: E402

urlpatterns += [
    path("customer-portal/subscriptions/", portal_subscriptions.PortalSubscriptionListApi.as_view(), name="portal-subscriptions"),
    path(
        "customer-portal/subscriptions/<str:id>",
        portal_subscriptions.PortalSubscriptionDetailApi.as_view(),
        name="portal-subscriptions-detail",
    ),
    path("customer-portal/orders/", portal_orders.PortalOrderListApi.as_view(), name="portal-orders"),
    path("customer-portal/orders/<str:id>", portal_orders.PortalOrderDetailApi.as_view(), name="portal-orders-detail"),
    path("customer-portal/orders/<str:id>/invoice", portal_orders.PortalOrderInvoiceApi.as_view(), name="portal-orders-invoice"),
    path("customer-portal/orders/<str:id>/receipt", portal_orders.PortalOrderReceiptApi.as_view(), name="portal-orders-receipt"),
    path(
        "customer-portal/orders/<str:id>/payment-status",
        portal_orders.PortalOrderPaymentStatusApi.as_view(),
        name="portal-orders-payment-status",
    ),
    path(
        "customer-portal/orders/<str:id>/confirm-payment",
        portal_orders.PortalOrderConfirmPaymentApi.as_view(),
        name="portal-orders-confirm-payment",
    ),
    path("customer-portal/benefit-grants/", portal_benefits.PortalBenefitGrantListApi.as_view(), name="portal-benefit-grants"),
    path(
        "customer-portal/benefit-grants/<str:id>",
        portal_benefits.PortalBenefitGrantDetailApi.as_view(),
        name="portal-benefit-grants-detail",
    ),
    path("customer-portal/license-keys/", portal_benefits.PortalLicenseKeyListApi.as_view(), name="portal-license-keys"),
    path(
        "customer-portal/license-keys/<str:id>",
        portal_benefits.PortalLicenseKeyDetailApi.as_view(),
        name="portal-license-keys-detail",
    ),
    path(
        "customer-portal/license-keys/<str:id>/rotate",
        portal_benefits.PortalLicenseKeyRotateApi.as_view(),
        name="portal-license-keys-rotate",
    ),
    path("customer-portal/meters/", portal_benefits.PortalCustomerMeterListApi.as_view(), name="portal-meters"),
    path("customer-portal/meters/<str:id>", portal_benefits.PortalCustomerMeterDetailApi.as_view(), name="portal-meters-detail"),
    path("customer-portal/downloadables/", portal_benefits.PortalDownloadableListApi.as_view(), name="portal-downloadables"),
    path("customer-portal/members/", portal_members.PortalMemberListApi.as_view(), name="portal-members"),
    path(
        "customer-portal/organizations/<str:slug>",
        portal_benefits.PortalOrganizationApi.as_view(),
        name="portal-organizations-detail",
    ),
]

from billing.analytics import api as analytics  # noqa: E402

urlpatterns += [
    path("metrics/", analytics.MetricsApi.as_view(), name="metrics"),
    path("metrics/limits", analytics.MetricsLimitsApi.as_view(), name="metrics-limits"),
    path("metrics/customers/", analytics.MetricsCustomersApi.as_view(), name="metrics-customers"),
    path("metrics/costs", analytics.MetricsCostsApi.as_view(), name="metrics-costs"),
    path("metrics/export", analytics.MetricsExportApi.as_view(), name="metrics-export"),
    path("metrics/dashboards", analytics.MetricDashboardListApi.as_view(), name="metrics-dashboards"),
    path("metrics/dashboards/<str:id>", analytics.MetricDashboardDetailApi.as_view(), name="metrics-dashboards-detail"),
]

from billing.dunning import api as dunning_api  # noqa: E402

urlpatterns += [
    path("orders/<str:id>/retry-payment", dunning_api.OrderRetryPaymentApi.as_view(), name="orders-retry-payment"),
    path("orders/<str:id>/payment-attempts", dunning_api.OrderPaymentAttemptsApi.as_view(), name="orders-payment-attempts"),
]

from billing.seats import api as seats_api  # noqa: E402

urlpatterns += [
    path("customer-seats/", seats_api.CustomerSeatListApi.as_view(), name="customer-seats-list"),
    path("customer-seats/claim", seats_api.CustomerSeatClaimApi.as_view(), name="customer-seats-claim"),
    path(
        "customer-seats/claim/<str:invitation_token>",
        seats_api.CustomerSeatClaimInfoApi.as_view(),
        name="customer-seats-claim-info",
    ),
    path("customer-seats/<str:seat_id>", seats_api.CustomerSeatApi.as_view(), name="customer-seats-detail"),
    path("customer-seats/<str:seat_id>/resend", seats_api.CustomerSeatResendApi.as_view(), name="customer-seats-resend"),
]

# The portal's seats and member removal live in billing.seats (the seat services import the portal's
# sessions, so the portal cannot import them back).
from billing.seats import api_portal as portal_seats  # noqa: E402

urlpatterns += [
    path("customer-portal/seats/", portal_seats.PortalSeatListApi.as_view(), name="portal-seats"),
    path(
        "customer-portal/seats/subscriptions",
        portal_seats.PortalClaimedSubscriptionListApi.as_view(),
        name="portal-seats-subscriptions",
    ),
    path("customer-portal/seats/<str:seat_id>", portal_seats.PortalSeatApi.as_view(), name="portal-seats-detail"),
    path("customer-portal/seats/<str:seat_id>/resend", portal_seats.PortalSeatResendApi.as_view(), name="portal-seats-resend"),
    path("customer-portal/members/<str:id>", portal_seats.PortalMemberWithSeatsApi.as_view(), name="portal-members-detail"),
]
