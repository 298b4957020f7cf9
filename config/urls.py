from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from config.views import favicon, healthz, media_serve

# The admin's site (config.admin_site) has no sign-in of its own: staff sign in through the
# workspace (throttled per account and per client, then a second factor).

# A database outage gets the 503 page, whatever raised it (see config.outage).
handler500 = "config.outage.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("workspace/", include("workspace.urls")),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("", include("updates.urls")),
    # Mail providers' tracking webhooks (mailer.events; docs/emails.md, "Webhooks").
    path("anymail/", include("mailer.events.urls")),
    path("", include("petitions.urls")),
    path("", include("campaigns.urls")),
]

if not settings.PRODUCTION:
    # Uploaded images on `make run`. In production the proxy serves /media/ from the volume
    # the web container writes to (Caddyfile), and this route does not exist.
    urlpatterns.insert(
        0,
        re_path(r"^{}(?P<path>.*)$".format(settings.MEDIA_URL.lstrip("/")), media_serve),
    )
