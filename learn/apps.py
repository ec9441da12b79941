from django.apps import AppConfig


class LearnConfig(AppConfig):
    name = "learn"
    verbose_name = "Learning"

    def ready(self) -> None:
        from learn import auth, signals  # noqa: F401  (connect the receivers)
