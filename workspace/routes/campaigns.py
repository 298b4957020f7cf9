"""Workspace URLs: campaigns. Included by workspace/urls.py.

The list of an organisation's campaigns is the organisation's page (``workspace:organisation``,
workspace/views/home.py).
"""

from django.urls import URLPattern, path

from workspace.views import campaign_hero, campaigns

urlpatterns: list[URLPattern] = [
    path("<slug:org>/campaigns/new/", campaigns.campaign_new, name="campaign-new"),
    path(
        "<slug:org>/campaigns/<uuid:campaign>/",
        campaigns.campaign_detail,
        name="campaign",
    ),
    path(
        "<slug:org>/campaigns/<uuid:campaign>/edit/",
        campaigns.campaign_edit,
        name="campaign-edit",
    ),
    path(
        "<slug:org>/campaigns/<uuid:campaign>/publish/",
        campaigns.campaign_publish_view,
        name="campaign-publish",
    ),
    path(
        "<slug:org>/campaigns/<uuid:campaign>/close/",
        campaigns.campaign_close_view,
        name="campaign-close",
    ),
    path(
        "<slug:org>/campaigns/<uuid:campaign>/win/",
        campaigns.campaign_win_view,
        name="campaign-win",
    ),
    path(
        "<slug:org>/campaigns/<uuid:campaign>/duplicate/",
        campaigns.campaign_duplicate_view,
        name="campaign-duplicate",
    ),
    path(
        "<slug:org>/campaigns/<uuid:campaign>/hero/",
        campaign_hero.campaign_hero,
        name="campaign-hero",
    ),
]
