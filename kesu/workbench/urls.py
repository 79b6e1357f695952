"""Workbench pages at the site root. Auth pages are Django's views with our templates."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views

app_name = "workbench"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="workbench/login.html",
                                                redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(
        template_name="workbench/password_change.html",
        success_url=reverse_lazy("workbench:password_change_done")), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(
        template_name="workbench/password_change_done.html"), name="password_change_done"),
    path("", views.queue, name="home"),
    path("queue/<slug:name>/", views.queue, name="queue"),
    path("register/", views.register, name="register"),
    path("register/suggest/", views.register_suggest, name="register_suggest"),
    path("register/history/", views.register_history, name="register_history"),
    path("phrases/check/", views.phrase_check, name="phrase_check"),
    path("c/<str:number>/", views.complaint_page, name="complaint"),
    path("c/<str:number>/act/<slug:action>/", views.act, name="act"),
    path("c/<str:number>/contact/", views.reveal_contact, name="reveal_contact"),
]
