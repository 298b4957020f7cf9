"""The workspace's pages, under /workspace/. Every organisation page carries its slug.

Routes that are not an organisation's (account, invitations) come first: their first segment
is reserved and can never be taken by an organisation's slug (campaigns.models).
"""

from django.urls import path

from workspace.routes import accounts, campaigns, members, petitions, signers, updates
from workspace.views import home

app_name = "workspace"

urlpatterns = [
    path("", home.home, name="home"),
    *accounts.urlpatterns,
    path("<slug:org>/", home.organisation, name="organisation"),
    *members.urlpatterns,
    *campaigns.urlpatterns,
    *petitions.urlpatterns,
    *signers.urlpatterns,
    *updates.urlpatterns,
]
