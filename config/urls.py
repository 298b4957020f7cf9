from django.contrib import admin
from django.urls import include, path

from config.views import healthz
from trust.login import ThrottledAdminAuthenticationForm

# Sign-in attempts are limited per account and per client IP (trust.login).
admin.site.login_form = ThrottledAdminAuthenticationForm

# A database outage gets the 503 page, whatever raised it (see config.outage).
handler500 = "config.outage.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("workspace/", include("workspace.urls")),
    path("healthz", healthz, name="healthz"),
    # Mail providers' tracking webhooks (mailer.events; docs/emails.md, "Webhooks").
    path("anymail/", include("mailer.events.urls")),
    path("", include("petitions.urls")),
    path("", include("campaigns.urls")),
]
