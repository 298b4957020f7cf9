from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailerConfig(AppConfig):
    name = "mailer"
    verbose_name = _("Mail")

    def ready(self) -> None:
        from anymail.signals import tracking
        from django.core import checks

        from mailer.events.checks import webhook_esps_check
        from mailer.events.receiver import tracking_received

        # Provider webhooks: every tracking event anymail parses is stored here.
        tracking.connect(tracking_received, dispatch_uid="mailer.events.tracking_received")
        checks.register(webhook_esps_check)
