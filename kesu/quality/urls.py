"""The CAPA pages at /capa/."""

from django.urls import path

from . import views

app_name = "quality"

urlpatterns = [
    path("", views.capa_list, name="capas"),
    path("<str:number>/", views.capa_page, name="capa"),
    path("<str:number>/actions/", views.add_action, name="add_action"),
    path("<str:number>/actions/<int:action_id>/done/", views.action_done, name="action_done"),
    path("<str:number>/actions/<int:action_id>/verify/", views.action_verify, name="action_verify"),
]
