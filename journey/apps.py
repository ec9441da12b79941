from django.apps import AppConfig


class JourneyConfig(AppConfig):
    """What spans every app: progress and mastery, accounts and merging, load_content."""

    name = "journey"
    verbose_name = "Learner journey"

    def ready(self) -> None:
        from journey import accounts  # noqa: F401  (connect the log-in receiver)
