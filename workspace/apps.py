from typing import Any

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
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete

        # The mailer sends the workspace's emails without knowing about the workspace.
        from workspace.emails import email_types_register

        email_types_register()
        # The outbox has no foreign keys: an account's unsent mail goes with the account.
        post_delete.connect(
            _account_mail_delete, sender=get_user_model(), dispatch_uid="workspace_account_mail"
        )


def _account_mail_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    from workspace.emails import users_mail_delete

    users_mail_delete(user_ids=[instance.pk])
