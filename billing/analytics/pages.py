"""The staff metrics dashboard (``/staff/metrics/``): for one organization the staff member may view (superuser,
or guardian's ``organizations.view_organization`` on it), charts drawn in the browser (Chart.js, served from
``assets/polar/vendor/``) from the same figures ``/v1/metrics/`` answers, and the same figures as a table."""

import datetime as dt

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from billing.analytics import payloads, selectors
from billing.analytics.definitions import BY_SLUG
from billing.models import Meter
from billing.usage.selectors import meter_quantities
from polar import clock
from polar.money import format_amount
from polar.organizations.models import Organization

CHART_METRICS = [
    "monthly_recurring_revenue",
    "revenue",
    "net_revenue",
    "new_subscriptions",
    "churned_subscriptions",
    "active_subscriptions",
    "costs",
    "cashflow",
    "gross_margin",
    "gross_margin_percentage",
    "average_revenue_per_user",
    "net_revenue_retention",
    "dunning_recovery_rate",
]


def _visible_organizations(user):
    organizations = Organization.objects.order_by("name")
    if user.is_superuser:
        return list(organizations)
    return [o for o in organizations if user.has_perm("organizations.view_organization", o)]


def _organization(request, organization_id):
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None or not (
        request.user.is_superuser or request.user.has_perm("organizations.view_organization", organization)
    ):
        raise Http404("No such organization")
    return organization


def _range(request) -> tuple[dt.date, dt.date, str]:
    today = clock.now().date()
    try:
        end = dt.date.fromisoformat(request.GET.get("end_date", "")) if request.GET.get("end_date") else today
        start = dt.date.fromisoformat(request.GET["start_date"]) if request.GET.get("start_date") else None
    except ValueError:
        start, end = None, today
    interval = request.GET.get("interval") if request.GET.get("interval") in ("day", "week", "month") else "month"
    if start is None or start > end:
        start = (end.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
    low, high = selectors.INTERVAL_LIMITS[interval]
    start = max(start, end - dt.timedelta(days=high))
    return start, end, interval


def _scope(organization, start, end, interval):
    range_start, range_end = selectors.bucket_range(start_date=start, end_date=end, unit=interval, timezone="UTC")
    return selectors.MetricsScope(
        organization_id=organization.id,
        currency=organization.default_presentment_currency.lower(),
        timezone="UTC",
        unit=interval,
        range_start=range_start,
        range_end=range_end,
        now=clock.now(),
    )


def _display(value, metric_type, currency):
    if metric_type == "currency":
        return format_amount(int(round(value)), currency)
    if metric_type == "currency_sub_cent":
        return format_amount(int(round(value)), currency)
    if metric_type == "percentage":
        return f"{value * 100:.1f} %"
    return f"{value:,}"


@staff_member_required
def staff_metrics_index(request):
    organizations = _visible_organizations(request.user)
    return render(request, "analytics/index.html", {"organizations": organizations})


@staff_member_required
def staff_metrics_page(request, organization_id):
    organization = _organization(request, organization_id)
    start, end, interval = _range(request)
    response = payloads.metrics_response(scope=_scope(organization, start, end, interval), slugs=CHART_METRICS)
    currency = organization.default_presentment_currency.lower()
    rows = [
        {
            "timestamp": period["timestamp"][:10],
            "cells": [_display(period[slug], BY_SLUG[slug].type, currency) for slug in CHART_METRICS],
        }
        for period in response["periods"]
    ]
    data_url = reverse("staff-metrics-data", args=[organization.id])
    return render(
        request,
        "analytics/dashboard.html",
        {
            "organization": organization,
            "start": start,
            "end": end,
            "interval": interval,
            "headers": [BY_SLUG[slug].display_name for slug in CHART_METRICS],
            "rows": rows,
            "data_url": f"{data_url}?start_date={start}&end_date={end}&interval={interval}",
            "currency": currency,
        },
    )


@staff_member_required
def staff_metrics_data(request, organization_id):
    """The dashboard's figures as JSON: the metrics (``MetricsResponse``), usage per meter, the top customers."""
    organization = _organization(request, organization_id)
    start, end, interval = _range(request)
    scope = _scope(organization, start, end, interval)
    meters = []
    for meter in Meter.objects.filter(organization=organization, archived_at__isnull=True).order_by("name"):
        quantities = meter_quantities(
            organization=organization,
            meter=meter,
            start_timestamp=scope.range_start,
            end_timestamp=scope.range_end,
            interval=interval,
        )
        meters.append({"name": meter.name, "quantities": [float(q["quantity"]) for q in quantities["quantities"]]})
    customers, _total = selectors.customer_ranking(scope, sorting="-margin", limit=10, offset=0)
    return JsonResponse(
        {
            "currency": scope.currency,
            "metrics": payloads.metrics_response(scope=scope, slugs=CHART_METRICS),
            "meters": meters,
            "customers": [payloads.customer_economics(row) for row in customers],
        }
    )
