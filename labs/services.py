"""A learner's way through a lab: run a command, re-check the step, advance,
reveal a solution, reset a step, restart; and the state pages and JSON show.

Progress lives in the database (LabProgress); the lab's keys live in the
learner's lab namespace on the sandbox server. Only POSTs write either.

Longer than most modules (about 450 lines) on purpose: like quizzes/taking.py
it is the one door to a learner's lab progress, and every way through it takes
the progress row's lock in the same way; split by action, that rule would be
written once per module.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.redis_config import APP_REDIS_DOWN as DOWN
from labs import checks, engine
from labs.definition import LabDef, StepDef
from labs.models import Lab, LabProgress
from learn.checks import CheckResult
from learn.models import Learner
from learn.redis_clients import sandbox as default_sandbox
from learn.sandbox.namespace import Namespace
from learn.sandbox.outcome import error
from learn.sandbox.runner import Outcome, Sandbox, SandboxUnavailable
from learn.sandbox_views import namespace_of

UNCHECKED = "Not checked: the sandbox server is unavailable right now."


class StepOutOfRange(ValueError):
    """A step number this lab has not got: the message says how many it has."""


class StepNotOpen(ValueError):
    """A step the learner cannot act on yet (or any more): the message says why."""


class TooManyNew(ValueError):
    """The learner's address has started as many new namespaces as it may this hour."""


def namespace(learner_id: str, lab: Lab | LabDef) -> Namespace:
    return engine.lab_namespace(settings.SECRET_KEY, str(learner_id), lab.slug)


def fresh_progress(learner_id: str, lab: Lab, definition: LabDef) -> LabProgress:
    """An unsaved progress at step 1 (what a learner who has not started sees)."""
    progress = LabProgress(
        learner_id=learner_id,
        lab=lab,
        lab_version=lab.version,
        current_step=1,
        steps=[],
        database=definition.rows_at(1),
    )
    progress.step(len(definition.steps))
    return progress


def find_progress(learner_id: str, lab: Lab, definition: LabDef) -> LabProgress:
    """The learner's progress, or a fresh unsaved one; never writes."""
    progress = LabProgress.objects.filter(learner_id=learner_id, lab=lab).first()
    if progress is None or progress.lab_version != lab.version:
        return fresh_progress(learner_id, lab, definition)
    progress.current_step = min(max(progress.current_step, 1), len(definition.steps))
    progress.step(len(definition.steps))
    return progress


def _open(sandbox: Sandbox, progress: LabProgress, definition: LabDef, number: int) -> None:
    """Open step `number`: its setup runs, the database changes, a marker is written."""
    engine.open_step(sandbox, _ns(progress), definition.steps[number - 1])
    progress.current_step = number
    progress.database = definition.rows_at(number)
    progress.step(number)["marker"] = engine.mark_step_start(sandbox, _ns(progress))


def _ns(progress: LabProgress) -> Namespace:
    return namespace(str(progress.learner_id), progress.lab)


def _restart(sandbox: Sandbox, progress: LabProgress, definition: LabDef) -> None:
    engine.forget(sandbox, _ns(progress))
    progress.lab_version = progress.lab.version
    progress.steps, progress.completed_at = [], None
    progress.started_at = timezone.now()
    progress.step(len(definition.steps))
    _open(sandbox, progress, definition, 1)


def locked_progress(
    learner_id: str, lab: Lab, definition: LabDef, sandbox: Sandbox, origin: str | None = None
) -> LabProgress:
    """The learner's progress, locked for this transaction; started if new or outdated.

    A new one starts a namespace: `origin` (the client's opaque address) must
    still be allowed a new one this hour, else TooManyNew (and nothing is kept:
    the caller's transaction rolls back).
    """
    locked = LabProgress.objects.select_for_update()
    progress, created = locked.filter(learner_id=learner_id, lab=lab).first(), False
    if progress is None:
        learner, _ = Learner.objects.get_or_create(id=learner_id)
        progress, created = locked.get_or_create(
            learner=learner, lab=lab, defaults={"lab_version": lab.version}
        )
    progress.lab = lab  # the caller's copy: no second query for it
    if created and origin is not None:
        # Counted per learner (their sandbox namespace), not per lab: a class
        # behind one address opening every lab is still one count per learner.
        refusal = sandbox.claim(namespace_of(learner_id), origin)
        if refusal:
            raise TooManyNew(refusal)
    if created or progress.lab_version != lab.version:
        _restart(sandbox, progress, definition)
    progress.current_step = min(max(progress.current_step, 1), len(definition.steps))
    progress.step(len(definition.steps))
    return progress


def recheck(
    sandbox: Sandbox, progress: LabProgress, definition: LabDef, outcome: Outcome | None = None
) -> tuple[list[int], list[CheckResult]]:
    """Check the open step; while it passes, mark it and open the next. Returns
    the numbers of the steps that passed now, and the open step's results."""
    passed: list[int] = []
    results: list[CheckResult] = []
    while progress.completed_at is None:
        number = progress.current_step
        step, record = definition.steps[number - 1], progress.step(number)
        results = engine.check_step(
            sandbox,
            _ns(progress),
            step,
            rows=progress.database,
            learner_id=str(progress.learner_id),
            marker=record["marker"],
            outcome=outcome,
        )
        if not all(r.passed for r in results):
            break
        record["passed"] = True
        record["checks"] = [{"passed": True, "message": r.message} for r in results]
        passed.append(number)
        outcome = None  # the next step's `reply` checks wait for a command of their own
        if number == len(definition.steps):
            progress.completed_at = timezone.now()
        else:
            _open(sandbox, progress, definition, number + 1)
    return passed, results


@dataclass
class Ran:
    outcome: Outcome
    passed: list[int]
    progress: LabProgress
    definition: LabDef
    # The open step's checks as this command left them (no second round of queries).
    live: list[CheckResult]


def run(
    learner_id: str, lab: Lab, line: str, sandbox: Sandbox | None = None, origin: str | None = None
) -> Ran:
    """Run a learner's line in their lab namespace and re-check the open step.

    The line runs outside any database transaction: a blocking command
    (BLPOP … 2) would otherwise hold the progress row's lock while it waits,
    and on SQLite that lock is the whole database's, so every other learner's
    write waited with it. Progress is started first (its own short
    transaction), then re-checked under the lock once the line has run.
    """
    sandbox = sandbox or default_sandbox()
    definition = lab.definition()
    found = LabProgress.objects.filter(learner_id=learner_id, lab=lab).only("lab_version").first()
    if found is None or found.lab_version != lab.version:
        try:
            with transaction.atomic():
                locked_progress(learner_id, lab, definition, sandbox, origin).save()
        except TooManyNew as refused:
            progress = fresh_progress(learner_id, lab, definition)
            outcome = dataclasses.replace(error(str(refused)), refused_new=True)
            return Ran(outcome, [], progress, definition, [])
    # The learner's one rate bucket (the free sandbox's) pays for lab lines too.
    outcome = sandbox.run(
        namespace(learner_id, lab), line, record=True, bucket=namespace_of(learner_id)
    )
    with transaction.atomic():
        progress = locked_progress(learner_id, lab, definition, sandbox)
        passed, live = recheck(sandbox, progress, definition, outcome)
        progress.save()
    return Ran(outcome, passed, progress, definition, live)


def check(learner_id: str, lab: Lab, sandbox: Sandbox | None = None) -> Ran:
    """Re-check the open step without running anything ("Check my step").

    For steps checked on what another page measured (a bench run): nothing the
    learner does in the lab re-checks them, so they come back and ask.
    """
    sandbox = sandbox or default_sandbox()
    definition = lab.definition()
    with transaction.atomic():
        progress = locked_progress(learner_id, lab, definition, sandbox)
        passed, live = recheck(sandbox, progress, definition)
        progress.save()
    return Ran(Outcome(reply=""), passed, progress, definition, live)


def _open_number(progress: LabProgress, definition: LabDef, number: int) -> None:
    total = len(definition.steps)
    if not 1 <= number <= total:
        raise StepOutOfRange(
            f"This lab has {total} step{'s' if total != 1 else ''}: there is no step {number}."
        )
    if number > progress.current_step:
        raise StepNotOpen(
            f"Step {number} is not open yet: finish step {progress.current_step} first."
        )


def reveal_solution(
    learner_id: str,
    lab: Lab,
    number: int,
    sandbox: Sandbox | None = None,
    origin: str | None = None,
) -> LabProgress:
    """Show a step's solution; a step not yet passed is then marked assisted."""
    sandbox = sandbox or default_sandbox()
    definition = lab.definition()
    with transaction.atomic():
        progress = locked_progress(learner_id, lab, definition, sandbox, origin)
        _open_number(progress, definition, number)
        record = progress.step(number)
        record["shown"] = True
        if not record["passed"]:
            record["assisted"] = True
        progress.save()
    return progress


def reset_step(
    learner_id: str,
    lab: Lab,
    number: int,
    sandbox: Sandbox | None = None,
    origin: str | None = None,
) -> LabProgress:
    """Put the namespace back to the state the open step started from.

    Earlier steps keep their results (passed, assisted); their keys come back
    as their solutions leave them.
    """
    sandbox = sandbox or default_sandbox()
    definition = lab.definition()
    with transaction.atomic():
        progress = locked_progress(learner_id, lab, definition, sandbox, origin)
        _open_number(progress, definition, number)
        if number != progress.current_step or progress.completed_at:
            raise StepNotOpen(f"Only the open step can be reset; step {number} is done.")
        ns = _ns(progress)
        engine.replay(sandbox, ns, definition, number)
        progress.database = definition.rows_at(number)
        progress.step(number)["marker"] = engine.mark_step_start(sandbox, ns)
        progress.save()
    return progress


def restart(
    learner_id: str, lab: Lab, sandbox: Sandbox | None = None, origin: str | None = None
) -> LabProgress:
    """Wipe the lab's keys and transcript and start again at step 1."""
    sandbox = sandbox or default_sandbox()
    definition = lab.definition()
    with transaction.atomic():
        progress = locked_progress(learner_id, lab, definition, sandbox, origin)
        _restart(sandbox, progress, definition)
        progress.save()
    return progress


# -- what pages and JSON show ------------------------------------------------------


@dataclass
class CheckView:
    passed: bool
    message: str
    hint: str = ""


@dataclass
class StepView:
    n: int
    title: str
    instructions: str
    solution: list[str]
    passed: bool
    assisted: bool
    shown: bool
    current: bool
    open: bool
    checks: list[CheckView] = field(default_factory=list)
    # Where the learner does what a provided check looks for (the bench, say).
    links: list[checks.Link] = field(default_factory=list)

    @property
    def solution_text(self) -> str:
        return "\n".join(self.solution)

    @property
    def hint(self) -> str:
        """The hint of the first check that fails (the one to work on)."""
        return next((c.hint for c in self.checks if not c.passed and c.hint), "")

    def as_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "title": self.title,
            "passed": self.passed,
            "assisted": self.assisted,
            "checks": [{"passed": c.passed, "message": c.message} for c in self.checks],
        }


@dataclass
class LabState:
    lab: Lab
    definition: LabDef
    progress: LabProgress
    steps: list[StepView]

    @property
    def completed(self) -> bool:
        return self.progress.completed_at is not None

    @property
    def uses_sandbox(self) -> bool:
        return self.definition.uses_sandbox

    @property
    def current(self) -> StepView:
        return self.steps[self.progress.current_step - 1]

    def as_json(self) -> dict[str, Any]:
        return {
            "slug": self.lab.slug,
            "current_step": self.progress.current_step,
            "completed": self.completed,
            "steps": [step.as_json() for step in self.steps],
        }


def state(
    learner_id: str,
    lab: Lab,
    progress: LabProgress | None = None,
    sandbox: Sandbox | None = None,
    definition: LabDef | None = None,
    live: list[CheckResult] | None = None,
) -> LabState:
    """Every step as the learner sees it; the open step is checked live (or
    given as `live`, the results of the command just run)."""
    sandbox = sandbox or default_sandbox()
    definition = definition or lab.definition()
    progress = progress or find_progress(learner_id, lab, definition)
    views = []
    for number, step in enumerate(definition.steps, start=1):
        record = copy.deepcopy(progress.step(number))
        current = number == progress.current_step and progress.completed_at is None
        if record["passed"]:
            results = [CheckView(c["passed"], c["message"]) for c in record["checks"]]
        elif current and live:
            results = [
                CheckView(r.passed, r.message, c.hint)
                for r, c in zip(live, step.checks, strict=True)
            ]
        elif current:
            try:
                live: list[CheckResult] = engine.check_step(
                    sandbox,
                    namespace(learner_id, lab),
                    step,
                    rows=progress.database,
                    learner_id=str(learner_id),
                    marker=record["marker"],
                )
            except (SandboxUnavailable, *DOWN):
                live = [CheckResult(False, UNCHECKED) for _ in step.checks]
            results = [
                CheckView(r.passed, r.message, c.hint)
                for r, c in zip(live, step.checks, strict=True)
            ]
        else:
            waiting = f"Not checked yet: this step opens after step {number - 1}."
            results = [CheckView(False, waiting) for _ in step.checks]
        views.append(
            StepView(
                n=number,
                title=step.title,
                instructions=step.instructions,
                solution=step.solution,
                passed=record["passed"],
                assisted=record["assisted"],
                shown=bool(record.get("shown")),
                current=current,
                open=number <= progress.current_step,
                checks=results,
                links=_links(step, lab.slug),
            )
        )
    return LabState(lab, definition, progress, views)


def _links(step: StepDef, slug: str) -> list[checks.Link]:
    found = (checks.link(c.spec, slug) for c in step.checks)
    return list(dict.fromkeys(link for link in found if link))


def merge_progress(source_id: str, target_id: str, sandbox: Sandbox | None = None) -> int:
    """Move an anonymous learner's labs into their account (before `source` is deleted).

    Where both worked on the same lab, the one further on is kept (completed,
    then the later step); the lab keys follow the kept progress. Returns how
    many labs moved. For the accounts merge (journey layer) to call.
    """
    sandbox = sandbox or default_sandbox()
    kept = {p.lab_id: p for p in LabProgress.objects.filter(learner_id=target_id)}
    moved = []
    for progress in LabProgress.objects.filter(learner_id=source_id).select_related("lab"):
        mine = kept.get(progress.lab_id)
        if mine is not None and _further(mine) >= _further(progress):
            continue
        if mine is not None:
            mine.delete()
            sandbox.reset(namespace(target_id, progress.lab))
        progress.learner_id = target_id
        progress.save(update_fields=["learner"])
        moved.append(progress.lab)
    for lab in moved:
        # Best effort, like the free sandbox: keys left behind are swept when idle.
        with contextlib.suppress(SandboxUnavailable, *DOWN):
            sandbox.adopt(namespace(source_id, lab), namespace(target_id, lab))
    return len(moved)


def _further(progress: LabProgress) -> tuple[bool, int]:
    return progress.completed_at is not None, progress.current_step
