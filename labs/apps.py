from django.apps import AppConfig


class LabsConfig(AppConfig):
    name = "labs"
    verbose_name = "Guided labs"

    def ready(self) -> None:
        from labs import signals  # noqa: F401  (connect the receivers)
