"""A lab as plain data: what the content files, the admin and the engine share.

The engine (labs/engine.py) runs and validates a `LabDef`, never model rows, so
a lab can be checked before it is saved (admin) or loaded (content files).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from labs import checks
from learn.checks import CheckSpec

Rows = dict[str, dict[str, Any]]


@dataclass
class CheckDef:
    spec: CheckSpec
    hint: str = ""


@dataclass
class StepDef:
    title: str
    instructions: str
    solution: list[str]
    checks: list[CheckDef]
    # Run in the learner's namespace when the step opens (and on its reset).
    setup: list[str] = field(default_factory=list)
    # Changes to the lab's "database" rows when the step opens: row → fields.
    database: Rows = field(default_factory=dict)


@dataclass
class LabDef:
    slug: str
    title: str
    topic: str
    intro: str
    steps: list[StepDef]
    version: int = 1
    order: int = 0
    # A small per-learner "database" the page shows (lazy loading, for one).
    database: Rows = field(default_factory=dict)

    def rows_at(self, number: int) -> Rows:
        """The database as step `number` (1-based) sees it once it has opened."""
        rows = copy.deepcopy(self.database)
        for step in self.steps[:number]:
            for name, changes in step.database.items():
                rows.setdefault(name, {}).update(changes)
        return rows

    def fingerprint(self) -> str:
        """What an edit changes: the loader compares it with what it last wrote."""
        data = asdict(self)
        data.pop("slug")
        for step in data["steps"]:
            step["checks"] = [
                {"spec": CheckSpec(**c["spec"]).to_dict(), "hint": c["hint"]}
                for c in step["checks"]
            ]
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def structure_errors(self) -> list[str]:
        """What is wrong before anything runs: missing parts, broken checks."""
        errors = []
        if not self.steps:
            errors.append("A lab needs at least one step.")
        for number, step in enumerate(self.steps, start=1):
            where = f"Step {number}"
            if not step.title.strip():
                errors.append(f"{where}: give it a title.")
            if not [line for line in step.solution if line.strip()]:
                errors.append(f"{where}: give a solution (the commands that pass it).")
            if not step.checks:
                errors.append(f"{where}: add at least one check: it is what passes the step.")
            for index, check in enumerate(step.checks, start=1):
                errors += [f"{where}, check {index}: {e}" for e in checks.spec_errors(check.spec)]
            if any(checks.action_for(line) for line in step.setup):
                errors.append(f"{where}: the setup runs Redis commands only.")
        return errors

    @property
    def uses_sandbox(self) -> bool:
        """Whether any step is solved in the lab's Redis namespace (else the lab's
        work happens on another page, e.g. the bench, and the page shows no REPL)."""
        return any(
            not checks.action_for(line) for step in self.steps for line in step.solution
        ) or any(step.setup for step in self.steps)


def lines(value: str | list[str] | None) -> list[str]:
    """Commands one per line (a text area) or a list (a content file)."""
    if value is None:
        return []
    items = value.splitlines() if isinstance(value, str) else [str(v) for v in value]
    return [item.strip() for item in items if item.strip()]
