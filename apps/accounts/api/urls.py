from django.urls import path

from . import views

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("auth/register/", views.RegisterView.as_view(), name="auth-register"),
    path("auth/session/", views.SessionView.as_view(), name="auth-session"),
    path("me/", views.MeView.as_view(), name="me"),
]
