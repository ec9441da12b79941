from django.core.management.base import BaseCommand, CommandError

from labs.content import load_labs
from learn.content_loader import ContentError, load_topics
from quizzes.content import load_quizzes


class Command(BaseCommand):
    help = (
        "Load the course content shipped in learn/content/ (topics, quiz banks and labs) "
        "into the database. Safe to run again: unchanged items are left as they are, "
        "and a topic, quiz or lab an instructor edited in the admin is kept unless you "
        "pass --force."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Overwrite topics, quizzes and labs even if they were edited in the admin.",
        )

    def handle(self, *args, force: bool = False, **options) -> None:
        try:
            topics = load_topics(force=force)
            quizzes = load_quizzes(force=force)
            labs = load_labs(force=force)
        except ContentError as exc:
            raise CommandError(str(exc)) from exc
        for label, outcome in (("Topics", topics), ("Quizzes", quizzes), ("Labs", labs)):
            summary = ", ".join(f"{len(slugs)} {name}" for name, slugs in outcome.items())
            self.stdout.write(f"{label}: {summary}.")
            if outcome["kept"]:
                self.stdout.write(
                    f"{label} kept as they are (edited in the admin, or with learners' "
                    f"attempts): {', '.join(outcome['kept'])}. Use --force to overwrite."
                )
