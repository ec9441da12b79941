"""Guided labs: definitions (shipped as files, editable in the admin) and progress."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils import timezone

from labs.checks import kind_choices
from labs.definition import CheckDef, LabDef, StepDef, lines
from learn.checks import CheckSpec
from learn.models import Learner, Topic


class LabQuerySet(models.QuerySet):
    def published(self) -> LabQuerySet:
        return self.filter(published=True, topic__published=True)

    def visible_to(self, user) -> LabQuerySet:
        """Staff preview drafts; everyone else sees published labs only."""
        return self if getattr(user, "is_staff", False) else self.published()


class Lab(models.Model):
    class Environment(models.TextChoices):
        NAMESPACE = "namespace", "A namespace of the shared sandbox"

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="labs")
    order = models.PositiveIntegerField(default=0)
    intro = models.TextField(help_text="Markdown, shown above the steps.")
    environment = models.CharField(
        max_length=20, choices=Environment.choices, default=Environment.NAMESPACE
    )
    database = models.JSONField(
        default=dict,
        blank=True,
        help_text="Rows of a small per-learner “database” the page shows: "
        '{"product:42": {"id": 42, "price": 25}}. Steps may change them when they open.',
    )
    version = models.PositiveIntegerField(
        default=1, help_text="Raise it when a change should restart learners' progress."
    )
    published = models.BooleanField(default=False)
    # Fingerprint of what `load_content` last wrote (as for topics): when the lab
    # no longer matches it, an instructor edited it and the loader keeps out.
    loaded_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LabQuerySet.as_manager()

    class Meta:
        ordering = ["topic__order", "order", "title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("labs:detail", args=[self.slug])

    def definition(self) -> LabDef:
        """The lab as plain data (two queries: steps, then their checks)."""
        steps = list(self.steps.prefetch_related("checks"))
        return LabDef(
            slug=self.slug,
            title=self.title,
            topic=self.topic.slug,
            intro=self.intro,
            version=self.version,
            order=self.order,
            database=self.database or {},
            steps=[step.definition() for step in steps],
        )

    @property
    def edited_since_load(self) -> bool:
        return self.loaded_fingerprint != self.definition().fingerprint()


class Step(models.Model):
    lab = models.ForeignKey(Lab, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    instructions = models.TextField(help_text="Markdown; ```redis blocks get a Run button.")
    solution = models.TextField(help_text="The commands that pass this step, one per line.")
    setup = models.TextField(
        blank=True, help_text="Commands run when the step opens (and on its reset), one per line."
    )
    database = models.JSONField(
        default=dict,
        blank=True,
        help_text='Changes to the lab\'s database rows when the step opens: {"product:42": '
        '{"price": 30}}.',
    )

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.lab} · {self.title}"

    def definition(self) -> StepDef:
        return StepDef(
            title=self.title,
            instructions=self.instructions,
            solution=lines(self.solution),
            setup=lines(self.setup),
            database=self.database or {},
            checks=[check.definition() for check in self.checks.all()],
        )


class Check(models.Model):
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="checks")
    order = models.PositiveIntegerField(default=0)
    # A callable: kinds other apps register (labs.checks) exist only after ready().
    kind = models.CharField(max_length=20, choices=kind_choices)
    key = models.CharField(max_length=200, blank=True)
    fields = models.JSONField(
        default=dict,
        blank=True,
        help_text='What the kind reads, e.g. {"min": 600, "max": 1800} for ttl, '
        '{"fields": {"user": "ada"}} for hash (see learn/content/FORMAT.md).',
    )
    hint = models.TextField(help_text="Shown when this check is the one that fails.")

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}".strip()

    def definition(self) -> CheckDef:
        return CheckDef(CheckSpec(self.kind, self.key, self.fields or {}), self.hint)


class LabProgress(models.Model):
    """One learner's way through one lab.

    `steps` holds, per step: passed, assisted (saw the solution), the check
    results when it passed, and the marker written into the engine's transcript
    when it opened ("ran … since the step began" reads after it).
    """

    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="labs")
    lab = models.ForeignKey(Lab, on_delete=models.CASCADE, related_name="progress")
    lab_version = models.PositiveIntegerField(default=1)
    current_step = models.PositiveIntegerField(default=1)
    steps = models.JSONField(default=list, blank=True)
    database = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["learner", "lab"], name="one_progress_per_lab")
        ]
        verbose_name_plural = "lab progress"

    def __str__(self) -> str:
        return f"{self.learner} · {self.lab}"

    def step(self, number: int) -> dict:
        """The record of step `number` (1-based), created empty if missing."""
        while len(self.steps) < number:
            self.steps.append({"passed": False, "assisted": False, "checks": [], "marker": ""})
        return self.steps[number - 1]
