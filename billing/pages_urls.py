"""Billing's server-rendered pages (outside /v1/): the hosted checkout, the signed invoice link and the
customer portal (/portal/, billing/portal/pages_urls.py)."""

from django.urls import include, path

from billing.checkouts import pages as checkout_pages
from billing.orders import pages as order_pages
from billing.portal import pages as portal_pages

urlpatterns = [
    path("demo/checkout", checkout_pages.demo_checkout_page, name="demo-checkout-page"),
    path("demo/portal", portal_pages.demo_portal_page, name="demo-portal-page"),
    path("checkout/<str:client_secret>", checkout_pages.checkout_page, name="checkout-page"),
    path("invoices/<uuid:order_id>/<str:signature>", order_pages.invoice_page, name="invoice-page"),
    path("portal/", include("billing.portal.pages_urls")),
]
