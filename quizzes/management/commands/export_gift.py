from django.core.management.base import BaseCommand, CommandError

from quizzes.gift_io import export_quizzes
from quizzes.models import Quiz


class Command(BaseCommand):
    help = (
        "Write a quiz's questions (--quiz SLUG), or every quiz of a topic "
        "(--topic SLUG), to standard output in GIFT format. Redis command questions "
        "have no GIFT form and are left out; a note on standard error counts them."
    )

    def add_arguments(self, parser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--quiz", help="Slug of one quiz.")
        group.add_argument("--topic", help="Slug of a topic: all its quizzes.")

    def handle(self, *args, quiz: str | None, topic: str | None, **options) -> None:
        quizzes = Quiz.objects.filter(slug=quiz) if quiz else Quiz.objects.filter(topic__slug=topic)
        if not quizzes.exists():
            raise CommandError(f"no quiz found for {'quiz' if quiz else 'topic'} {quiz or topic!r}")
        text, skipped = export_quizzes(quizzes.order_by("slug"))
        self.stdout.write(text, ending="")
        if skipped:
            self.stderr.write(
                f"Left out {skipped} Redis command question(s): GIFT has no such type."
            )
