from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from learn.models import Topic
from quizzes.gift import GiftError
from quizzes.gift_io import import_gift
from quizzes.models import Quiz


class Command(BaseCommand):
    help = (
        "Import questions from a GIFT file (Moodle's format: single choice, multiple "
        "select with weights, true/false) into a quiz. A file with any error imports "
        "nothing and names the lines at fault. With --create, a new draft quiz is made "
        "in the topic given by --topic."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--quiz", required=True, help="Slug of the quiz to import into.")
        parser.add_argument("--create", action="store_true", help="Create the quiz (a draft).")
        parser.add_argument("--topic", help="With --create: the topic's slug.")
        parser.add_argument("--title", help="With --create: the quiz's title.")

    def handle(
        self,
        *args,
        path: Path,
        quiz: str,
        create: bool,
        topic: str | None,
        title: str | None,
        **options,
    ) -> None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        target = Quiz.objects.filter(slug=quiz).first()
        if create:
            if target is not None:
                raise CommandError(f"a quiz with slug {quiz!r} already exists; drop --create")
            if not topic or not title:
                raise CommandError("--create needs --topic and --title")
            topic_obj = Topic.objects.filter(slug=topic).first()
            if topic_obj is None:
                raise CommandError(f"no topic with slug {topic!r}")
            target = Quiz(slug=slugify(quiz), topic=topic_obj, title=title)
        elif target is None:
            raise CommandError(f"no quiz with slug {quiz!r} (add --create to make one)")
        try:
            with transaction.atomic():
                if target.pk is None:
                    target.save()
                created = import_gift(text, target)
        except GiftError as exc:
            raise CommandError(f"{path}: nothing imported.\n{exc}") from exc
        self.stdout.write(f"Imported {len(created)} question(s) into {target.slug}.")
