"""Run a lab against a namespace of the shared sandbox: open steps, check them,
replay them, and validate a whole lab before it is saved.

The lab's environment is a scratch namespace of the shared sandbox server, one
per learner and lab. Every command goes through `Sandbox.run`, so the policy,
the key mapping, the confined ACL user and the limits all apply as in the free
sandbox. Checks read the server's state with the one checker (learn.checks),
or, for a kind another app registers (labs.checks), what that app measured
for the learner; such a step's solution is action lines the app runs.

"Reset this step" replays: it empties the namespace and runs the earlier
steps' setup and solutions again. DUMP/RESTORE snapshots were the other
choice, but RESTORE is refused to the sandbox's ACL user by design (it loads a
payload the sandbox cannot inspect), and a snapshot kept per step would need
storage of its own. The replay needs none, is deterministic, and the lab's
validation already proves the solutions reach a state where every earlier
check passes.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from config.redis_config import APP_REDIS_DOWN as DOWN
from labs import checks
from labs.definition import LabDef, Rows, StepDef
from learn.checks import CheckContext, CheckResult
from learn.models import Learner
from learn.redis_clients import app_redis
from learn.sandbox.namespace import Namespace
from learn.sandbox.runner import Outcome, Sandbox

# A lab namespace starts with "lab" (not hexadecimal), so it can never equal a
# free sandbox's (24 hex digits) or a quiz's ("quiz…"); no ":" in it, so no
# namespace's prefix is another's.
PREFIX = "lab"
SCRATCH = "labtest"


def lab_namespace(secret: str, learner_id: str, slug: str) -> Namespace:
    """One per learner and lab, derived on the server: unguessable and stable."""
    digest = hmac.new(secret.encode(), f"lab:{learner_id}:{slug}".encode(), hashlib.sha256)
    return Namespace(PREFIX + digest.hexdigest()[:24])


def scratch_namespace() -> Namespace:
    return Namespace(SCRATCH + uuid.uuid4().hex[:20])


# -- the transcript -----------------------------------------------------------
# The engine records every line a learner runs with record=True in their
# namespace's log (Sandbox.log_key, in the app Redis, the latest entries only).
# A step's start is a marker entry pushed into that log; "ran X since the step
# began" reads the entries after it. A marker trimmed away or expired means
# every entry left is newer than it, which is just as right.


def mark_step_start(sandbox: Sandbox, ns: Namespace) -> str:
    token = secrets.token_hex(8)
    log = sandbox.log_key(ns)
    with contextlib.suppress(*DOWN):
        app_redis().pipeline(transaction=False).rpush(log, json.dumps({"marker": token})).expire(
            log, sandbox.limits.idle_seconds
        ).execute()
    return token


def transcript(sandbox: Sandbox, ns: Namespace) -> list[dict[str, Any]]:
    try:
        raw = app_redis().lrange(sandbox.log_key(ns), 0, -1)
    except DOWN:
        return []
    return [json.loads(entry) for entry in raw]


def since(entries: list[dict[str, Any]], marker: str) -> list[dict[str, Any]]:
    found = next((i for i, e in enumerate(entries) if e.get("marker") == marker), -1)
    return [e for e in entries[found + 1 :] if "marker" not in e]


def shown(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries a learner sees (markers are bookkeeping)."""
    return [e for e in entries if "marker" not in e]


def forget(sandbox: Sandbox, ns: Namespace) -> None:
    """Empty the namespace and drop its bookkeeping (transcript, history, rate)."""
    sandbox.discard(ns)


# -- steps ----------------------------------------------------------------------


def open_step(sandbox: Sandbox, ns: Namespace, step: StepDef) -> list[str]:
    """Run a step's setup; return the errors (an instructor's mistake, not the learner's)."""
    errors = []
    for line in step.setup:
        outcome = sandbox.run(ns, line)
        if outcome.error:
            errors.append(f"{line} → {outcome.reply}")
    return errors


def check_step(
    sandbox: Sandbox,
    ns: Namespace,
    step: StepDef,
    *,
    rows: Rows,
    learner_id: str = "",
    marker: str = "",
    outcome: Outcome | None = None,
    entries: list[dict[str, Any]] | None = None,
) -> list[CheckResult]:
    """Every check of the step against the namespace as it is now (and, for
    kinds another app provides, against what that app keeps for `learner_id`)."""
    needs_transcript = any(c.spec.kind in {"ran", "any_of"} for c in step.checks)
    if entries is None:
        entries = transcript(sandbox, ns) if needs_transcript else []
    context = CheckContext(outcome=outcome, transcript=since(entries, marker), rows=rows)
    return [checks.evaluate(c.spec, learner_id, sandbox, ns, context) for c in step.checks]


def replay(sandbox: Sandbox, ns: Namespace, lab: LabDef, number: int) -> list[str]:
    """Empty the namespace, then rebuild the state step `number` starts from.

    The transcript stays (it is the learner's own record); the caller writes a
    new start marker. Returns the errors, if any line failed.
    """
    sandbox.reset(ns)
    errors = []
    for step in lab.steps[: number - 1]:
        errors += open_step(sandbox, ns, step)
        # Action lines (a bench run, say) leave no Redis state to rebuild.
        for line in (line for line in step.solution if not checks.action_for(line)):
            outcome = sandbox.run(ns, line)
            if outcome.error:
                errors.append(f"{line} → {outcome.reply}")
    errors += open_step(sandbox, ns, lab.steps[number - 1])
    return errors


# -- validation -----------------------------------------------------------------


@dataclass
class Validation:
    errors: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def report(self) -> str:
        return "\n".join(self.lines)


def _results(results: list[CheckResult]) -> list[str]:
    return [f"    {'✓' if r.passed else '✗'} {r.message}" for r in results]


def _run_line(sandbox: Sandbox, ns: Namespace, learner_id: str, line: str) -> Outcome:
    action = checks.action_for(line)
    if action is None:
        return sandbox.run(ns, line, record=True)
    return action(learner_id, line)


def validate(lab: LabDef, sandbox: Sandbox) -> Validation:
    """Run the lab's solutions from a fresh namespace, step by step.

    Before each step's solution at least one of its checks must fail (so no
    step passes by itself); after it, every check must pass. The report shows
    the whole run, as the grader saw it.

    The run is a scratch learner's: a new namespace, and a new learner id for
    the kinds other apps provide. A solution line that is an action (a bench
    run) makes that app keep records for the scratch learner, as a learner's
    would be kept; they hang off its Learner row, deleted at the end.
    """
    result = Validation(errors=lab.structure_errors())
    if result.errors:
        return result
    ns, learner_id = scratch_namespace(), str(uuid.uuid4())
    acted = any(checks.action_for(line) for step in lab.steps for line in step.solution)
    try:
        for number, step in enumerate(lab.steps, start=1):
            rows = lab.rows_at(number)
            result.lines.append(f"Step {number}: {step.title}")
            setup_errors = open_step(sandbox, ns, step)
            result.errors += [f"Step {number}: the setup fails: {e}" for e in setup_errors]
            marker = mark_step_start(sandbox, ns)
            before = check_step(sandbox, ns, step, rows=rows, learner_id=learner_id, marker=marker)
            result.lines += ["  Before the solution:", *_results(before)]
            if all(r.passed for r in before):
                result.errors.append(
                    f"Step {number} already passes before its solution runs: "
                    "at least one of its checks must fail on the state it starts from."
                )
            result.lines.append("  The solution:")
            outcome = None
            for line in step.solution:
                outcome = _run_line(sandbox, ns, learner_id, line)
                result.lines.append(f"    > {line}\n      {outcome.reply}")
                if outcome.error:
                    result.errors.append(
                        f"Step {number}: the solution's {line!r} fails: {outcome.reply}"
                    )
            after = check_step(
                sandbox,
                ns,
                step,
                rows=rows,
                learner_id=learner_id,
                marker=marker,
                outcome=outcome,
            )
            result.lines += ["  After the solution:", *_results(after)]
            failing = [r.message for r in after if not r.passed]
            if failing:
                result.errors.append(
                    f"Step {number}: the checks fail after its solution: {'; '.join(failing)}"
                )
    finally:
        forget(sandbox, ns)
        if acted:
            Learner.objects.filter(id=learner_id).delete()
    return result
