from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from petitions.services.reencryption import (
    manage_link_requests_reencrypt,
    sign_attempts_reencrypt,
    signatures_reencrypt,
    supporters_reencrypt,
)


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored name and email address under the first key of "
        "SBOR_ENCRYPTION_KEYS. Rotation: put the new key first, run this, then remove the "
        "old key. Safe to run again."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            count = supporters_reencrypt(batch_size=options["batch_size"])
            attempts = sign_attempts_reencrypt(batch_size=options["batch_size"])
            signatures = signatures_reencrypt(batch_size=options["batch_size"])
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        requests = manage_link_requests_reencrypt()
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {count} supporters, {attempts} sign attempts, {signatures} "
                f"signatures and {requests} pending manage-link requests under the first key."
            )
        )
