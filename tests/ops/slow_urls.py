"""The app's URLs and ``/ops-test/slow/?seconds=N&marker=PATH``: writes the marker file (the request has
arrived), sleeps, then answers 200. Only tests/ops/gunicorn_app_settings.py routes it."""

import time
from pathlib import Path

from django.http import JsonResponse
from django.urls import include, path


def slow(request):
    Path(request.GET["marker"]).write_text("in flight")
    seconds = min(float(request.GET.get("seconds", "2")), 10.0)
    time.sleep(seconds)
    return JsonResponse({"slept": seconds})


urlpatterns = [path("ops-test/slow/", slow), path("", include("polar.urls"))]
