"""The workspace's pages, under /workspace/. Every organisation page carries its slug."""

from django.urls import path

from workspace.views import home

app_name = "workspace"

urlpatterns = [
    path("", home.home, name="home"),
    path("<slug:org>/", home.organisation, name="organisation"),
]
