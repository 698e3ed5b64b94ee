"""Billing's server-rendered pages (outside /v1/): the hosted checkout, the signed invoice link and the
customer portal (/portal/, billing/portal/pages_urls.py), the staff metrics dashboard (/staff/metrics/) and
the support pages (/support/, billing/support/urls.py)."""

from django.urls import include, path

from billing.analytics import pages as analytics_pages
from billing.checkouts import pages as checkout_pages
from billing.orders import pages as order_pages
from billing.portal import pages as portal_pages
from billing.seats import pages as seat_pages

urlpatterns = [
    path("demo/checkout", checkout_pages.demo_checkout_page, name="demo-checkout-page"),
    path("demo/portal", portal_pages.demo_portal_page, name="demo-portal-page"),
    path("checkout/<str:client_secret>", checkout_pages.checkout_page, name="checkout-page"),
    path("invoices/<uuid:order_id>/<str:signature>", order_pages.invoice_page, name="invoice-page"),
    path("portal/", include("billing.portal.pages_urls")),
    path("staff/metrics/", analytics_pages.staff_metrics_index, name="staff-metrics"),
    path("staff/metrics/<uuid:organization_id>/", analytics_pages.staff_metrics_page, name="staff-metrics-page"),
    path("staff/metrics/<uuid:organization_id>/data", analytics_pages.staff_metrics_data, name="staff-metrics-data"),
    path("support/", include("billing.support.urls")),
    path("seats/claim", seat_pages.seat_claim_page, name="seat-claim-page"),
]
