"""Quizzes: instructor-authored in the admin, taken by learners, graded on the server."""

from __future__ import annotations

import hashlib
import random
import secrets
from datetime import timedelta
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from learn.models import Learner, Topic


def new_seed() -> str:
    return secrets.token_hex(8)


class QuizQuerySet(models.QuerySet):
    def published(self) -> QuizQuerySet:
        return self.filter(status=Quiz.Status.PUBLISHED, topic__published=True)

    def visible_to(self, user) -> QuizQuerySet:
        return self if getattr(user, "is_staff", False) else self.published()


class Quiz(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    class Feedback(models.TextChoices):
        IMMEDIATE = "immediate", "Right after each question"
        END = "end", "At the end"

    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="quizzes")
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown, shown before the start.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    pass_mark = models.PositiveSmallIntegerField(
        default=70, validators=[MinValueValidator(1), MaxValueValidator(100)], help_text="Percent."
    )
    shuffle_questions = models.BooleanField(default=False)
    shuffle_choices = models.BooleanField(default=False)
    draw_count = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Draw this many questions from the pool per attempt. Empty: all of them.",
    )
    feedback = models.CharField(max_length=10, choices=Feedback.choices, default=Feedback.IMMEDIATE)
    time_limit_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Empty: untimed."
    )
    max_extensions = models.PositiveSmallIntegerField(
        "extra time allowed",
        default=2,
        validators=[MaxValueValidator(20)],
        help_text='How many times a learner may take "5 more minutes" in one timed attempt '
        "(before its time is up). 0: never.",
    )
    # What `load_content` last wrote: the content file's hash, and a fingerprint
    # of the quiz as written. A quiz whose fingerprint no longer matches was
    # edited in the admin, and the loader leaves it alone.
    source_hash = models.CharField(max_length=64, blank=True, editable=False)
    loaded_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = QuizQuerySet.as_manager()

    class Meta:
        ordering = ["topic__order", "title"]
        verbose_name_plural = "quizzes"

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("quizzes:detail", args=[self.slug])

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def fingerprint(self) -> str:
        """A hash of the quiz and everything in it, to notice edits made in the admin."""
        parts = [self.title, self.description, self.status, self.pass_mark, self.feedback]
        for question in self.questions.prefetch_related("choices", "checks", "tags"):
            parts += [question.kind, question.prompt, question.explanation, question.setup]
            parts += [question.example_answer, question.section, question.difficulty]
            parts += sorted(t.name for t in question.tags.all())
            parts += [(c.text, c.correct, c.feedback) for c in question.choices.all()]
            parts += [
                (k.kind, k.key, k.key_type, k.member, k.value, k.minimum, k.maximum)
                for k in question.checks.all()
            ]
        return hashlib.sha256(repr(parts).encode()).hexdigest()

    def questions_per_attempt(self) -> int:
        pool = self.questions.count()
        return min(self.draw_count, pool) if self.draw_count else pool


class Tag(models.Model):
    name = models.SlugField(unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Question(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple select"
        TRUE_FALSE = "truefalse", "True / false"
        COMMAND = "command", "Redis command"

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="questions")
    kind = models.CharField(
        "question type", max_length=10, choices=Kind.choices, default=Kind.SINGLE
    )
    title = models.CharField(
        max_length=200, blank=True, help_text="Optional short name (GIFT ::title::)."
    )
    prompt = models.TextField(help_text="Markdown.")
    explanation = models.TextField(help_text="Markdown: why the right answer is right.")
    difficulty = models.PositiveSmallIntegerField(
        default=2, choices=[(1, "Easy"), (2, "Medium"), (3, "Hard")]
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="questions")
    section = models.SlugField(
        blank=True, max_length=120, help_text="Anchor of the topic section this question tests."
    )
    order = models.PositiveIntegerField(default=0)
    # Redis command questions only.
    setup = models.TextField(
        blank=True, help_text="Commands run before the learner's, one per line."
    )
    example_answer = models.CharField(
        max_length=500, blank=True, help_text="A correct answer: the checks must pass on it."
    )

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.title or self.prompt[:80]

    @property
    def is_command(self) -> bool:
        return self.kind == self.Kind.COMMAND

    def correct_choice_ids(self) -> set[int]:
        return {c.pk for c in self.choices.all() if c.correct}

    def section_url(self) -> str:
        url = self.quiz.topic.get_absolute_url()
        return f"{url}#{self.section}" if self.section else url


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField(max_length=500)
    correct = models.BooleanField(default=False)
    feedback = models.CharField(max_length=500, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.text


class CommandCheck(models.Model):
    """One condition on the sandbox state after the learner's command ran."""

    class Kind(models.TextChoices):
        EXISTS = "exists", "Key exists with type"
        VALUE = "value", "String value equals"
        TTL = "ttl", "TTL within a range (seconds)"
        LENGTH = "length", "Collection length equals"
        MEMBERS = "members", "Collection contains members"
        ZSCORE = "zscore", "Sorted-set score equals"
        ZRANK = "zrank", "Sorted-set rank equals"
        REPLY = "reply", "Reply equals (redis-cli text)"

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="checks")
    kind = models.CharField("check", max_length=10, choices=Kind.choices)
    key = models.CharField(max_length=200, blank=True)
    key_type = models.CharField(
        max_length=10,
        blank=True,
        choices=[(t, t) for t in ("string", "list", "set", "zset", "hash", "stream")],
    )
    member = models.CharField(max_length=200, blank=True)
    value = models.TextField(
        blank=True,
        help_text="Expected value; for members, one per line; for reply, the exact text.",
    )
    minimum = models.IntegerField(null=True, blank=True)
    maximum = models.IntegerField(null=True, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.key}".strip()


class AttemptQuerySet(models.QuerySet):
    def finished(self) -> AttemptQuerySet:
        return self.filter(finished_at__isnull=False)

    def in_progress(self) -> AttemptQuerySet:
        return self.filter(finished_at__isnull=True)


class Attempt(models.Model):
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="attempts")
    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="attempts")
    started_at = models.DateTimeField(default=timezone.now)
    deadline = models.DateTimeField(null=True, blank=True)
    extensions = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    passed = models.BooleanField(null=True)
    # Set once, by the one award of this attempt's points to the leaderboard: a
    # conditional UPDATE on NULL claims it, so concurrent finishes award once.
    awarded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Seeds the per-attempt order of choices, so it stays put across page loads.
    seed = models.CharField(max_length=16, default=new_seed)

    objects = AttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # At most one unfinished attempt per learner and quiz: a second tab resumes it.
            models.UniqueConstraint(
                fields=["learner", "quiz"],
                condition=models.Q(finished_at__isnull=True),
                name="one_open_attempt_per_quiz",
            )
        ]

    def __str__(self) -> str:
        return f"{self.quiz} · {self.learner}"

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None

    def time_is_up(self, now=None) -> bool:
        return self.deadline is not None and (now or timezone.now()) >= self.deadline

    def choices_for(self, question: Question) -> list[Choice]:
        choices = list(question.choices.all())
        if self.quiz.shuffle_choices and question.kind != Question.Kind.TRUE_FALSE:
            random.Random(f"{self.seed}:{question.pk}").shuffle(choices)
        return choices

    def finish(self, score: Decimal, now=None) -> None:
        """Write the finished row. What must follow (review queue, leaderboard) is
        quizzes.taking's job: it calls this under the attempt's row lock."""
        self.finished_at = now or timezone.now()
        self.score = score
        self.passed = score >= self.quiz.pass_mark
        self.save(update_fields=["finished_at", "score", "passed"])

    def extend(self, minutes: int, now=None) -> None:
        """Write a longer deadline; whether it may be extended is quizzes.taking's rule."""
        self.deadline = max(self.deadline, now or timezone.now()) + timedelta(minutes=minutes)
        self.extensions += 1
        self.save(update_fields=["deadline", "extensions"])


class AttemptQuestion(models.Model):
    """A question drawn for an attempt, at its position (1-based)."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="slots")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="slots")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["attempt", "position"], name="one_question_per_position"
            ),
            models.UniqueConstraint(
                fields=["attempt", "question"], name="question_once_per_attempt"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.attempt} #{self.position}"


class Response(models.Model):
    """The learner's answer to one drawn question; one at most (the OneToOne says so)."""

    slot = models.OneToOneField(AttemptQuestion, on_delete=models.CASCADE, related_name="response")
    choices = models.ManyToManyField(Choice, blank=True, related_name="responses")
    command = models.CharField(max_length=2000, blank=True)
    report = models.TextField(blank=True, help_text="What grading found (command questions).")
    correct = models.BooleanField()
    answered_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.slot}: {'right' if self.correct else 'wrong'}"


class ReviewItemQuerySet(models.QuerySet):
    def live(self) -> ReviewItemQuerySet:
        """Items whose question a learner may still see (its quiz and topic are published)."""
        return self.filter(question__quiz__status=Quiz.Status.PUBLISHED).filter(
            question__quiz__topic__published=True
        )

    def due(self, learner_id, now=None) -> ReviewItemQuerySet:
        return (
            self.live()
            .filter(learner_id=learner_id, due__lte=now or timezone.now())
            .exclude(Exists(in_open_attempt(learner_id)))
        )


def in_open_attempt(learner_id, question: object = None) -> models.QuerySet:
    """Slots of the learner's unfinished attempts holding `question` (default: the
    outer query's question, for use in Exists).

    Reviewing a question while a quiz asks it would hand over the answer (and,
    in a quiz with feedback at the end, reveal early that it was missed).
    """
    return AttemptQuestion.objects.filter(
        question=OuterRef("question") if question is None else question,
        attempt__learner_id=learner_id,
        attempt__finished_at=None,
    )


class ReviewItem(models.Model):
    """A question the learner got wrong, in their review queue; scheduled by quizzes.review.

    The scheduling fields are FSRS's card state, kept as columns (not a JSON blob)
    so the admin and queries can see them; `due` is the one the queue reads.
    """

    # Same numbers as fsrs.State, so a card converts both ways without a table.
    class State(models.IntegerChoices):
        LEARNING = 1, "Learning"
        REVIEW = 2, "Review"
        RELEARNING = 3, "Relearning"

    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="review_items")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="review_items")
    due = models.DateTimeField(default=timezone.now)
    state = models.PositiveSmallIntegerField(choices=State.choices, default=State.LEARNING)
    step = models.PositiveSmallIntegerField(
        null=True, blank=True, default=0, help_text="(Re)learning step; empty once in review."
    )
    stability = models.FloatField(null=True, blank=True, help_text="FSRS stability, in days.")
    difficulty = models.FloatField(null=True, blank=True, help_text="FSRS difficulty, 1–10.")
    reviews = models.PositiveIntegerField(default=0, help_text="Answers given in review.")
    lapses = models.PositiveIntegerField(
        default=0, help_text="Wrong answers since it entered the queue (review or quiz)."
    )
    last_correct = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_reviewed_at = models.DateTimeField(null=True, blank=True)

    objects = ReviewItemQuerySet.as_manager()

    class Meta:
        ordering = ["due", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "question"], name="one_review_item_per_question"
            )
        ]
        # The queue is always one learner's items by due date: the navigation
        # counts them on every page, so the count is a range scan of this index.
        indexes = [models.Index(fields=["learner", "due"], name="review_queue")]

    def __str__(self) -> str:
        return f"{self.learner} · {self.question}"

    def is_due(self, now=None) -> bool:
        return self.due <= (now or timezone.now())
