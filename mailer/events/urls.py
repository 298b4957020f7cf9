"""The providers' tracking webhooks, mounted under ``anymail/`` (config/urls.py)."""

from django.urls import path

from mailer.events.views import tracking_webhook

app_name = "webhooks"
urlpatterns = [
    # The same paths as anymail's own (``anymail.urls``), for the configured providers only.
    path("<slug:esp>/tracking/", tracking_webhook, name="tracking"),
]
