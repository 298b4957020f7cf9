"""The project's URLs, with a stand-in for the workspace's two-factor step while the
accounts pages are built on another branch. Once ``workspace:two-factor`` exists, this is
exactly ``config.urls``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import URLResolver, include, path

from config import urls as config_urls
from workspace import urls as workspace_urls


def _two_factor(request: HttpRequest) -> HttpResponse:
    return HttpResponse("two-factor step")


_workspace = list(workspace_urls.urlpatterns)
if not any(getattr(pattern, "name", None) == "two-factor" for pattern in _workspace):
    _workspace.insert(0, path("two-factor/", _two_factor, name="two-factor"))

urlpatterns = [
    path("workspace/", include((_workspace, "workspace"))),
    *(
        pattern
        for pattern in config_urls.urlpatterns
        if not (isinstance(pattern, URLResolver) and pattern.namespace == "workspace")
    ),
]
