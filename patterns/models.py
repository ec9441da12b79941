import uuid
from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from learn.models import Learner
from patterns.engine import PATTERNS
from patterns.stampede import PROTECTION_NAMES


class RunQuerySet(models.QuerySet):
    def of(self, learner_id: str) -> "RunQuerySet":
        return self.filter(learner_id=learner_id)

    def active(self) -> "RunQuerySet":
        return self.filter(slot__isnull=False)

    def overdue(self) -> "RunQuerySet":
        return self.active().filter(deadline__lt=timezone.now())

    def finished(self) -> "RunQuerySet":
        return self.filter(status=Run.Status.DONE)


class Run(models.Model):
    """One bench run: its parameters, its live progress, then its result.

    While a run goes on it holds one of the site's run slots; the two unique
    constraints on the slot are what make "one run per learner" and "at most
    PATTERNS_MAX_RUNS at once" hold across every web worker, on SQLite and
    PostgreSQL alike, without a lock of our own. A third holds one client
    address to one live run, so no one client can hold every slot.
    """

    class Kind(models.TextChoices):
        PATTERN = "pattern", "Caching pattern"
        STAMPEDE = "stampede", "Stampede"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="bench_runs")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    params = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    progress = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    slot = models.PositiveSmallIntegerField(null=True, blank=True)
    # Who sent it, as an opaque keyed token of the client's address (never the
    # address): learner ids are free to make, so "one run per learner" alone
    # let one client take every slot.
    origin = models.CharField(max_length=64, blank=True, default="", editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    deadline = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # The guided lab the learner started it from (its slug), for the link back.
    lab = models.SlugField(blank=True, default="")

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["slot"], condition=Q(slot__isnull=False), name="one_run_per_slot"
            ),
            models.UniqueConstraint(
                fields=["learner"], condition=Q(slot__isnull=False), name="one_live_run_per_learner"
            ),
            models.UniqueConstraint(
                fields=["origin"],
                condition=Q(slot__isnull=False) & ~Q(origin=""),
                name="one_live_run_per_origin",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} · {self.status}"

    def get_absolute_url(self) -> str:
        return reverse("patterns:run", args=[self.pk])

    @property
    def label(self) -> str:
        if self.kind == self.Kind.STAMPEDE:
            return f"Stampede with {PROTECTION_NAMES.get(self.params.get('protection'), '?')}"
        return PATTERNS.get(self.params.get("pattern"), "?")

    @property
    def running(self) -> bool:
        return self.status == self.Status.RUNNING

    def finish(self, result: dict | None, error: str = "") -> None:
        self.status = self.Status.FAILED if error else self.Status.DONE
        self.result, self.error = result, error
        self.slot, self.finished_at = None, timezone.now()
        self.save(update_fields=["status", "result", "error", "slot", "finished_at"])

    @staticmethod
    def deadline_for(seconds: float, grace: float) -> "timezone.datetime":
        return timezone.now() + timedelta(seconds=seconds + grace)
