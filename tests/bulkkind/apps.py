from django.apps import AppConfig


class BulkKindConfig(AppConfig):
    name = "tests.bulkkind"
    label = "bulkkind"

    def ready(self) -> None:
        from tests.bulkkind.kind import register

        register()
