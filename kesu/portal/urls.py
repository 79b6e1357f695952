"""The customer portal at /portal/."""

from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("submit/", views.submit, name="submit"),
    path("submitted/", views.submitted, name="submitted"),
    path("lookup/", views.lookup, name="lookup"),
    path("survey/<str:token>/", views.survey, name="survey"),
]
