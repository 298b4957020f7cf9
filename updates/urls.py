"""Public pages of updates: the links in every email (see updates.views)."""

from django.urls import path

from updates import views

app_name = "updates"

urlpatterns = [
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("u/<str:token>/one-click/", views.one_click, name="one-click"),
    path("u/<str:token>/preferences/", views.preferences, name="preferences"),
]
