"""Workspace URLs: members, invitations and the audit log. Included by workspace/urls.py.

The invitation link comes first: its first segment, "invitations", is not an organisation.
"""

from django.urls import URLPattern, path

from workspace.views import audit, invitations, members

urlpatterns: list[URLPattern] = [
    path(
        "invitations/<str:token>/",
        invitations.invitation_accept,
        name="invitation-accept",
    ),
    path("<slug:org>/members/", members.members, name="members"),
    path("<slug:org>/members/invite/", members.member_invite, name="member-invite"),
    path("<slug:org>/members/leave/", members.member_leave, name="member-leave"),
    path(
        "<slug:org>/members/invitations/<uuid:public_id>/revoke/",
        members.invitation_revoke,
        name="invitation-revoke",
    ),
    path("<slug:org>/members/<uuid:public_id>/role/", members.member_role, name="member-role"),
    path(
        "<slug:org>/members/<uuid:public_id>/remove/",
        members.member_remove,
        name="member-remove",
    ),
    path("<slug:org>/audit/", audit.audit, name="audit"),
]
