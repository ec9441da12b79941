"""What a learner has done, per topic, and the mastery figure made of it.

Mastery of a topic weighs four kinds of evidence: reading it to the end,
running its examples in the sandbox, completing its guided labs, and the best
quiz score on it. Quizzes weigh most because they are the only evidence that
the learner can recall the facts unaided; labs come next, as the evidence that
they can do the task on a real server. A topic without examples, labs or a
published quiz shares the missing weight among the parts it has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Exists, Max, OuterRef, Subquery
from django.urls import reverse

from labs.models import Lab, LabProgress
from learn.models import Topic, TopicProgress
from learn.topic_cache import published_topics, topic_examples
from quizzes.models import Attempt, Quiz

WEIGHTS = {"read": 25, "examples": 15, "labs": 20, "quiz": 40}


@dataclass
class TopicMastery:
    topic: Topic
    read: bool = False
    examples_total: int = 0
    examples_run: int = 0
    has_quiz: bool = False
    best_score: Decimal | None = None
    labs_total: int = 0
    labs_done: int = 0

    @property
    def mastery(self) -> int:
        """0–100."""
        parts = {"read": 1.0 if self.read else 0.0}
        if self.examples_total:
            parts["examples"] = self.examples_run / self.examples_total
        if self.labs_total:
            parts["labs"] = self.labs_done / self.labs_total
        if self.has_quiz:
            parts["quiz"] = float(self.best_score or 0) / 100
        weight = sum(WEIGHTS[name] for name in parts)
        return round(100 * sum(WEIGHTS[name] * value for name, value in parts.items()) / weight)

    @property
    def started(self) -> bool:
        return (
            self.read or self.examples_run > 0 or self.labs_done > 0 or self.best_score is not None
        )


@dataclass
class ScorePoint:
    quiz_title: str
    finished_at: datetime
    score: Decimal
    passed: bool


@dataclass
class LabMark:
    """A published lab and how far this learner got (step None: not started)."""

    lab: Lab
    completed: bool
    step: int | None


@dataclass
class Progress:
    topics: list[TopicMastery]
    scores: list[ScorePoint] = field(default_factory=list)
    labs: list[LabMark] = field(default_factory=list)

    @property
    def labs_completed(self) -> int:
        return sum(1 for mark in self.labs if mark.completed)

    @property
    def mastery(self) -> int:
        """The course as a whole: every published topic counts the same."""
        if not self.topics:
            return 0
        return round(sum(t.mastery for t in self.topics) / len(self.topics))

    def for_topic(self, slug: str) -> TopicMastery | None:
        return next((t for t in self.topics if t.topic.slug == slug), None)


def lab_marks(learner_id: str) -> list[LabMark]:
    """Every published lab with this learner's standing in it (one query)."""
    mine = LabProgress.objects.filter(learner_id=learner_id, lab=OuterRef("pk"))
    labs = (
        Lab.objects.published()
        .select_related("topic")
        .only("slug", "title", "topic__slug", "topic__title", "topic__order", "order")
        .annotate(
            done=Exists(mine.filter(completed_at__isnull=False)),
            at_step=Subquery(mine.values("current_step")[:1]),
        )
    )
    return [LabMark(lab, lab.done, lab.at_step) for lab in labs]


def learner_progress(learner_id: str, *, with_scores: bool = False) -> Progress:
    """Mastery per published topic: four queries, five with the score history."""
    topics = published_topics()
    examples = topic_examples()
    rows = {
        row.topic_id: row
        for row in TopicProgress.objects.filter(learner_id=learner_id).only(
            "topic_id", "read_at", "examples_run"
        )
    }
    finished = Attempt.objects.finished().filter(
        learner_id=learner_id, quiz__status=Quiz.Status.PUBLISHED
    )
    best = dict(finished.values_list("quiz__topic_id").annotate(best=Max("score")).order_by())
    quiz_topics = set(Quiz.objects.published().values_list("topic_id", flat=True))
    labs = lab_marks(learner_id)
    result = []
    for topic in topics:
        row = rows.get(topic.pk)
        blocks = examples.get(topic.slug, [])
        ran = set(row.examples_run) if row else set()
        result.append(
            TopicMastery(
                topic=topic,
                read=bool(row and row.read_at),
                examples_total=len(blocks),
                # An example counts once every line of it has run (its Run button runs them all).
                examples_run=sum(1 for block in blocks if ran.issuperset(block)),
                has_quiz=topic.pk in quiz_topics,
                best_score=best.get(topic.pk),
                labs_total=sum(1 for m in labs if m.lab.topic_id == topic.pk),
                labs_done=sum(1 for m in labs if m.lab.topic_id == topic.pk and m.completed),
            )
        )
    progress = Progress(topics=result, labs=labs)
    if with_scores:
        progress.scores = [
            ScorePoint(title, finished_at, score, passed)
            for title, finished_at, score, passed in finished.order_by("finished_at").values_list(
                "quiz__title", "finished_at", "score", "passed"
            )
        ]
    return progress


@dataclass
class NextStep:
    label: str
    url: str
    why: str


def next_step(learner_id: str, progress: Progress, due_reviews: int = 0) -> NextStep | None:
    """Where to pick up: an unfinished quiz, then the next unread topic, then a quiz."""

    open_attempt = (
        Attempt.objects.in_progress()
        .filter(learner_id=learner_id, quiz__status="published")
        .select_related("quiz")
        .order_by("-started_at")
        .first()
    )
    if open_attempt and not open_attempt.time_is_up():
        return NextStep(
            f"Resume the quiz “{open_attempt.quiz.title}”",
            open_attempt.quiz.get_absolute_url(),
            "You have a quiz in progress.",
        )
    topics = progress.topics
    # Carry on after the last topic read, not from the top: that's where they were.
    last_read = max((i for i, t in enumerate(topics) if t.read), default=-1)
    ordered = topics[last_read + 1 :] + topics[: last_read + 1]
    unread = next((t for t in ordered if not t.read), None)
    if unread:
        verb = "Continue with" if last_read >= 0 else "Start with"
        return NextStep(
            f"{verb} “{unread.topic.title}”",
            unread.topic.get_absolute_url(),
            "The next topic you haven't read yet.",
        )
    if due_reviews:
        return NextStep(
            f"Review {due_reviews} question{'s' if due_reviews != 1 else ''}",
            reverse("review:page"),
            "Questions you missed are due for another go.",
        )
    untested = next((t for t in topics if t.has_quiz and (t.best_score or 0) < 100), None)
    if untested:
        return NextStep(
            f"Test yourself on “{untested.topic.title}”",
            reverse("quizzes:list") + f"#topic-{untested.topic.slug}",
            "Your best score there has room to grow.",
        )
    return None


@dataclass
class ChartPoint:
    x: float
    y: float
    label: str


@dataclass
class Chart:
    width: int
    height: int
    points: list[ChartPoint]
    gridlines: list[tuple[float, int]]
    line: str


def score_chart(scores: list[ScorePoint], width: int = 640, height: int = 240) -> Chart | None:
    """Geometry of the quiz-score chart, in SVG user units; None with no scores.

    Attempts are spaced evenly in the order they were finished: a learner cares
    about the trend across attempts more than about the calendar gaps.
    """
    if not scores:
        return None
    left, right, top, bottom = 44, 16, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / (len(scores) - 1) if len(scores) > 1 else 0
    points = []
    for index, point in enumerate(scores):
        x = left + (index * step if len(scores) > 1 else plot_w / 2)
        y = top + plot_h * (1 - float(point.score) / 100)
        when = point.finished_at.strftime("%d %b %Y")
        verdict = "passed" if point.passed else "not passed"
        points.append(
            ChartPoint(
                round(x, 1),
                round(y, 1),
                f"{point.quiz_title}, {when}: {point.score:.0f}% ({verdict})",
            )
        )
    gridlines = [(round(top + plot_h * (1 - value / 100), 1), value) for value in (0, 50, 100)]
    line = " ".join(f"{p.x},{p.y}" for p in points)
    return Chart(width, height, points, gridlines, line)
