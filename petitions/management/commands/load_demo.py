from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.urls import reverse

from petitions.demo.loader import DemoOwnerInvitation, demo_load, demo_owner_invite

_LOCAL_OUTBOX = "mailer.backends.LocalOutboxBackend"


class Command(BaseCommand):
    help = "Load (or refresh) the Russia Behind Bars demo campaign and its petition."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--invite-owner",
            metavar="EMAIL",
            help=(
                "while the demo organisation has no member, invite EMAIL to own it "
                "(make run does, with owner@example.org)"
            ),
        )

    def handle(self, *args: Any, invite_owner: str | None = None, **options: Any) -> None:
        petition = demo_load()
        self.stdout.write(self.style.SUCCESS(f"Demo campaign ready: /c/{petition.campaign.slug}/"))
        if invite_owner is None:
            return
        self.stdout.write(f"Workspace: {settings.SITE_URL}{reverse('workspace:home')}")
        invited = demo_owner_invite(email=invite_owner)
        if invited is None:
            self.stdout.write("Sign in there as a member of the demo organisation.")
        else:
            self.stdout.write(_how_to_join(invited))


def _outbox() -> str:
    folder = Path(settings.OUTBOX_DIR)
    base = Path(settings.BASE_DIR)
    return f"{folder.relative_to(base)}/" if folder.is_relative_to(base) else f"{folder}/"


def _how_to_join(invited: DemoOwnerInvitation) -> str:
    invitation = invited.invitation
    until = f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC"
    sent = "is invited" if invited.new else "was invited"
    where = (
        f"Its email is in {_outbox()} (the worker also prints the link, prefixed [outbox])."
        if settings.EMAIL_BACKEND == _LOCAL_OUTBOX
        else "Its email went to that address."
    )
    return (
        f"{invitation.email} {sent} to own {invitation.organisation.name}, "
        f"until {until}. {where} Open the link, choose a password and set up "
        f"two-factor authentication."
    )
