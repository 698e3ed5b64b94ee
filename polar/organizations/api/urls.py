from django.urls import path

from . import views

urlpatterns = [
    path("organizations/", views.OrganizationListApi.as_view(), name="organizations-list"),
    path("organizations/<str:id>", views.OrganizationDetailApi.as_view(), name="organizations-detail"),
]
