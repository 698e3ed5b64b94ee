"""The app's URLs and ``/ops-test/pid/``: an authenticated DRF view (so the API's throttle counts it against the
token) that sleeps a little and answers the pid of the worker that served it. Only
tests/ops/ratelimit_app_settings.py routes it."""

import os
import time

from django.urls import include, path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView


class WorkerPid(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        # Long enough that concurrent clients cannot all be served by one sync worker.
        time.sleep(0.05)
        return Response({"pid": os.getpid()})


urlpatterns = [path("ops-test/pid/", WorkerPid.as_view()), path("", include("polar.urls"))]
