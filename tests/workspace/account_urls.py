"""The project's URLconf, plus placeholders for account pages this branch may lack.

The members' pages link to and redirect to the account pages (``workspace:login``,
``workspace:two-factor``, ``workspace:two-factor-setup``, ``workspace:account``,
``workspace:logout``), which are built separately. Any of those names missing from
``workspace.urls`` gets a placeholder here, so the members' tests can follow those links;
once the real pages exist, this is the project's URLconf unchanged.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, include, path

from config import urls as root
from workspace import urls as workspace_urls

ACCOUNT_NAMES = ("login", "two-factor", "two-factor-setup", "account", "logout")


def _placeholder(request: HttpRequest) -> HttpResponse:
    return HttpResponse("account page placeholder")


_existing = {entry.name for entry in workspace_urls.urlpatterns if isinstance(entry, URLPattern)}
_workspace = [
    *(
        path(f"-/{name}/", _placeholder, name=name)
        for name in ACCOUNT_NAMES
        if name not in _existing
    ),
    *workspace_urls.urlpatterns,
]

urlpatterns = [
    path("workspace/", include((_workspace, "workspace")))
    if getattr(entry, "namespace", None) == "workspace"
    else entry
    for entry in root.urlpatterns
]
handler500 = root.handler500
