"""``manage.py campaign_lockdown <slug> --confirm "<exact title>"``: purge a campaign's
signers' personal data at once, keeping its counts. Irreversible."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.models import Campaign
from petitions.services.retention import LockdownConfirmationError, campaign_lockdown


class Command(BaseCommand):
    help = (
        "Close every petition of a campaign and irreversibly purge its signers' personal "
        "data; counts stay. Requires --confirm with the campaign's exact title."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the campaign's slug")
        parser.add_argument(
            "--confirm",
            default=None,
            metavar="TITLE",
            help="the campaign's title, exactly, to show you mean it",
        )

    def handle(self, *args: Any, slug: str, confirm: str | None, **options: Any) -> None:
        campaign = Campaign.objects.filter(slug=slug).first()
        if campaign is None:
            raise CommandError(f"No campaign with the slug {slug!r}.")
        if confirm is None:
            raise CommandError(
                f'Refusing to lock down without --confirm "<title>" (the title is '
                f"{campaign.title!r}). Nothing was changed."
            )
        try:
            detached = campaign_lockdown(campaign=campaign, confirm_name=confirm)
        except LockdownConfirmationError:
            raise CommandError(
                f"--confirm does not match the campaign's title {campaign.title!r}. "
                "Nothing was changed."
            ) from None
        self.stdout.write(
            f"Campaign {campaign.slug} locked down: {detached} signatures no longer point to "
            "a person; counts kept."
        )
