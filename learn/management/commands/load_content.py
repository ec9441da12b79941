from django.core.management.base import BaseCommand, CommandError

from learn.content_loader import ContentError, load_topics


class Command(BaseCommand):
    help = (
        "Load the course content shipped in learn/content/ into the database. "
        "Safe to run again: unchanged topics are left as they are, and a topic an "
        "instructor edited in the admin is kept unless you pass --force."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Overwrite topics even if they were edited in the admin.",
        )

    def handle(self, *args, force: bool = False, **options) -> None:
        try:
            outcome = load_topics(force=force)
        except ContentError as exc:
            raise CommandError(str(exc)) from exc
        summary = ", ".join(f"{len(slugs)} {name}" for name, slugs in outcome.items())
        self.stdout.write(f"Topics: {summary}.")
        if outcome["kept"]:
            self.stdout.write(
                "Kept admin edits of: "
                + ", ".join(outcome["kept"])
                + " (use --force to overwrite)."
            )
