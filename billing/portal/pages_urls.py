"""The customer portal's pages under ``/portal/`` (billing.portal.pages), included by billing/pages_urls.py.
Fixed paths come before ``<organization slug>/``, the sign-in link page."""

from django.urls import path

from billing.portal import pages

urlpatterns = [
    path("", pages.portal_home, name="customer-portal-page"),
    path("subscriptions/<uuid:id>", pages.portal_subscription, name="customer-portal-subscription"),
    path("subscriptions/<uuid:id>/cancel", pages.portal_subscription_cancel, name="customer-portal-subscription-cancel"),
    path("subscriptions/<uuid:id>/uncancel", pages.portal_subscription_uncancel, name="customer-portal-subscription-uncancel"),
    path("subscriptions/<uuid:id>/units", pages.portal_subscription_units, name="customer-portal-subscription-units"),
    path("cards/new", pages.portal_card_add, name="customer-portal-card-add"),
    path("cards/<uuid:id>/delete", pages.portal_card_delete, name="customer-portal-card-delete"),
    path("invoices/<uuid:id>", pages.portal_invoice, name="customer-portal-invoice"),
    path("sign-out", pages.portal_sign_out, name="customer-portal-sign-out"),
    path("email/change", pages.portal_email_change, name="customer-portal-email-change"),
    path("email/verify", pages.portal_email_verify, name="customer-portal-email-verify"),
    path("<slug:organization_slug>/", pages.portal_link_request, name="customer-portal-link-request"),
]
