from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PetitionsConfig(AppConfig):
    name = "petitions"
    verbose_name = _("Petitions")

    def ready(self) -> None:
        # The mailer sends petitions' emails without knowing about petitions.
        from petitions.emails import email_types_register

        email_types_register()
