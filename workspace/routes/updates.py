"""Workspace URLs: updates to a campaign's supporters. Included by workspace/urls.py."""

from django.urls import URLPattern, path

from workspace.views import update_actions, updates

_CAMPAIGN = "<slug:org>/campaigns/<uuid:campaign>/updates/"
_UPDATE = f"{_CAMPAIGN}<uuid:update>/"

urlpatterns: list[URLPattern] = [
    path(_CAMPAIGN, updates.update_list, name="updates"),
    path(f"{_CAMPAIGN}new/", updates.update_new, name="update-new"),
    path(f"{_CAMPAIGN}propose/", update_actions.update_propose, name="update-propose"),
    path(_UPDATE, updates.update_detail, name="update"),
    path(f"{_UPDATE}edit/", updates.update_edit, name="update-edit"),
    path(f"{_UPDATE}preview/", updates.update_preview, name="update-preview"),
    path(
        f"{_UPDATE}preview/<str:language>/email.html",
        updates.update_preview_html,
        name="update-preview-html",
    ),
    path(f"{_UPDATE}test/", update_actions.update_test, name="update-test"),
    path(f"{_UPDATE}send/", update_actions.update_send, name="update-send"),
    path(f"{_UPDATE}schedule/", update_actions.update_schedule, name="update-schedule"),
    path(f"{_UPDATE}cancel/", update_actions.update_cancel, name="update-cancel"),
    path(f"{_UPDATE}delete/", update_actions.update_delete, name="update-delete"),
    path(f"{_UPDATE}progress.json", updates.update_progress, name="update-progress"),
]
