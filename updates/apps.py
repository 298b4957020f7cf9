from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class UpdatesConfig(AppConfig):
    """Updates to supporters: organisers write them, the mailer sends them in bulk.

    It sits above ``petitions`` (whose selectors say who hears from a campaign) and below
    ``workspace`` (whose pages call its services); nothing below imports it.
    """

    name = "updates"
    verbose_name = pgettext_lazy("updates", "Updates")

    def ready(self) -> None:
        # The mailer renders and sends updates without knowing about them.
        from updates.emails import email_types_register

        email_types_register()
