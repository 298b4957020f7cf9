from typing import Any

from django.core.management.base import BaseCommand

from petitions.demo.loader import demo_load


class Command(BaseCommand):
    help = "Load (or refresh) the Russia Behind Bars demo campaign and its petition."

    def handle(self, *args: Any, **options: Any) -> None:
        petition = demo_load()
        self.stdout.write(self.style.SUCCESS(f"Demo campaign ready: /c/{petition.campaign.slug}/"))
