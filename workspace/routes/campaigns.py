"""Workspace URLs: campaigns. Included by workspace/urls.py."""

from django.urls import URLPattern, path

from workspace.views import campaign_hero

urlpatterns: list[URLPattern] = [
    path(
        "<slug:org>/campaigns/<uuid:campaign>/hero/",
        campaign_hero.campaign_hero,
        name="campaign-hero",
    ),
]
