"""A system check: every provider named for webhooks has a tracking webhook in anymail."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error


def webhook_esps_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from mailer.events.views import tracking_view

    return [
        Error(
            f"SBOR_WEBHOOK_ESPS names {esp!r}, which has no tracking webhook in anymail",
            hint="Use the name of the ESP's module in anymail.webhooks, e.g. postmark.",
            id="mailer.E001",
        )
        for esp in settings.MAILER_WEBHOOK_ESPS
        if tracking_view(esp) is None
    ]
