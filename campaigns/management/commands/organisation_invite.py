"""``manage.py organisation_invite <organisation-slug> <email> [--role owner]``: invite
someone to an organisation from a shell, typically its first owner (nobody is a member yet
who could invite them). The invitation is recorded in the organisation's audit log as
made by "system", and mailed like any other."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.models import Organisation, Role
from campaigns.services.members import AlreadyAMember, invitation_issue


class Command(BaseCommand):
    help = "Invite an email address to join an organisation (by default as its owner)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the organisation's slug")
        parser.add_argument("email", help="the address to invite")
        parser.add_argument("--role", choices=[role.value for role in Role], default="owner")
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default=settings.LANGUAGE_CODE,
            help="the language of the email",
        )

    def handle(
        self, *args: Any, slug: str, email: str, role: str, language: str, **options: Any
    ) -> None:
        organisation = Organisation.objects.filter(slug=slug).first()
        if organisation is None:
            raise CommandError(f"No organisation with the slug {slug!r}.")
        try:
            invitation = invitation_issue(
                organisation=organisation, email=email, role=role, language=language
            )
        except ValidationError:
            raise CommandError(f"{email!r} is not a valid email address.") from None
        except AlreadyAMember:
            raise CommandError(f"{email} is already a member of {organisation.name}.") from None
        self.stdout.write(
            f"Invited {invitation.email} to {organisation.name} as {role}; "
            f"the link works until {invitation.expires_at:%Y-%m-%d %H:%M} UTC."
        )
