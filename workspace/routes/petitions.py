"""Workspace URLs: petitions. Included by workspace/urls.py.

A new petition hangs under its campaign; a petition's own pages carry its public id.
"""

from django.urls import URLPattern, path

from workspace.views import petitions

urlpatterns: list[URLPattern] = [
    path(
        "<slug:org>/campaigns/<uuid:campaign>/petitions/new/",
        petitions.petition_new,
        name="petition-new",
    ),
    path("<slug:org>/petitions/<uuid:petition>/", petitions.petition_detail, name="petition"),
    path(
        "<slug:org>/petitions/<uuid:petition>/edit/",
        petitions.petition_edit,
        name="petition-edit",
    ),
    path(
        "<slug:org>/petitions/<uuid:petition>/open/",
        petitions.petition_open,
        name="petition-open",
    ),
    path(
        "<slug:org>/petitions/<uuid:petition>/close/",
        petitions.petition_close,
        name="petition-close",
    ),
    path(
        "<slug:org>/petitions/<uuid:petition>/win/",
        petitions.petition_win,
        name="petition-win",
    ),
    path(
        "<slug:org>/petitions/<uuid:petition>/paper/",
        petitions.paper_batch_add,
        name="petition-paper",
    ),
    path(
        "<slug:org>/petitions/<uuid:petition>/response/",
        petitions.target_response_record,
        name="petition-response",
    ),
]
