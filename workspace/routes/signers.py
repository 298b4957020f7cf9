"""Workspace URLs: signers (the owners' staff tools). Included by workspace/urls.py."""

from django.urls import URLPattern, path

from workspace.views import signers

urlpatterns: list[URLPattern] = [
    path("<slug:org>/signers/", signers.signers, name="signers"),
    path("<slug:org>/signers/export/", signers.signers_export, name="signers-export"),
    path("<slug:org>/signers/invalidate/", signers.signers_invalidate, name="signers-invalidate"),
    path(
        "<slug:org>/signers/invalidations/",
        signers.invalidations,
        name="signers-invalidations",
    ),
    path(
        "<slug:org>/signers/invalidations/<uuid:batch>/revalidate/",
        signers.invalidation_revalidate,
        name="signers-revalidate",
    ),
    path(
        "<slug:org>/campaigns/<uuid:campaign>/lockdown/",
        signers.campaign_lockdown,
        name="campaign-lockdown",
    ),
]
