"""``/support/``: the support pages (billing/support/pages.py), included by billing/pages_urls.py."""

from django.urls import path

from billing.support import pages

urlpatterns = [
    path("", pages.support_search_page, name="support-search"),
    path("customers/<uuid:customer_id>/", pages.support_customer_page, name="support-customer"),
    path("subscriptions/<uuid:subscription_id>/cancel", pages.support_subscription_cancel, name="support-subscription-cancel"),
    path("subscriptions/<uuid:subscription_id>/revoke", pages.support_subscription_revoke, name="support-subscription-revoke"),
    path("orders/<uuid:order_id>/refund", pages.support_order_refund, name="support-order-refund"),
    path("orders/<uuid:order_id>/retry-payment", pages.support_payment_retry, name="support-order-retry-payment"),
    path("orders/<uuid:order_id>/resend-receipt", pages.support_receipt_resend, name="support-order-resend-receipt"),
]
