from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkspaceConfig(AppConfig):
    """The organisers' workspace: accounts, members, campaigns, petitions, staff tools.

    It sits above ``campaigns`` and ``petitions`` and calls their services and selectors;
    nothing below imports it (import-linter, ``make lint``).
    """

    name = "workspace"
    verbose_name = _("Workspace")

    def ready(self) -> None:
        # The mailer sends the workspace's emails without knowing about the workspace.
        from workspace.emails import email_types_register

        email_types_register()
