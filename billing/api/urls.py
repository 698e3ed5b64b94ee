urlpatterns: list = []
from django.urls import path  # noqa: E402

from . import customer_meters as customer_meters_api  # noqa: E402
from . import events as events_api  # noqa: E402
from . import meters as meters_api  # noqa: E402

urlpatterns += [
    path("events/ingest", events_api.EventsIngestApi.as_view(), name="events-ingest"),
    path("events/", events_api.EventListApi.as_view(), name="events-list"),
    path("events/<str:id>", events_api.EventDetailApi.as_view(), name="events-detail"),
    path("meters/", meters_api.MeterListApi.as_view(), name="meters-list"),
    path("meters/<str:id>/quantities", meters_api.MeterQuantitiesApi.as_view(), name="meters-quantities"),
    path("meters/<str:id>", meters_api.MeterDetailApi.as_view(), name="meters-detail"),
    path("customer-meters/", customer_meters_api.CustomerMeterListApi.as_view(), name="customer-meters-list"),
    path("customer-meters/<str:id>", customer_meters_api.CustomerMeterDetailApi.as_view(), name="customer-meters-detail"),
]
