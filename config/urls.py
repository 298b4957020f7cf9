from django.contrib import admin
from django.urls import include, path

from config.views import healthz

# The admin's site (config.admin_site) has no sign-in of its own: staff sign in through the
# workspace (throttled per account and per client, then a second factor).

# A database outage gets the 503 page, whatever raised it (see config.outage).
handler500 = "config.outage.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("workspace/", include("workspace.urls")),
    path("healthz", healthz, name="healthz"),
    path("", include("petitions.urls")),
    path("", include("campaigns.urls")),
]
