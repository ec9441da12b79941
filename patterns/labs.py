"""The bench's two check kinds for the guided labs, and its solution action.

Registered with the labs engine in PatternsConfig.ready (labs never imports
patterns). Both kinds read only the learner's finished runs in the database and
the figures the run measured on the real servers; nothing the browser says.

- `bench_pattern`: a finished pattern run on the lab's `workload` (those knobs
  as given; pattern, seed and length the learner's, unless the check names a
  `pattern` or a `min_seconds`) meets every bound given: `min_hit_ratio`,
  `max_stale_reads`, `min_stale_reads`.
- `bench_stampede`: a finished stampede run on the lab's `herd` whose length
  took it past the hot key's expiry; with `protection`, one run with that
  protection; with `cut`, a protected run let at most 1/cut of the database
  reads at expiry through that the learner's worst unprotected run did.

The action `bench key=value ...` (a solution line) runs one bounded run for the
lab validator's scratch learner, in the calling thread, and waits for it.
"""

from __future__ import annotations

import dataclasses
import math
import shlex
from urllib.parse import urlencode

from django.urls import reverse

from labs.checks import Link
from learn.checks import CheckResult, CheckSpec
from learn.sandbox.runner import Outcome
from patterns import runs
from patterns.engine import PATTERNS, Workload
from patterns.forms import PATTERN_DEFAULTS, STAMPEDE_DEFAULTS, form_for
from patterns.models import Run
from patterns.stampede import PROTECTION_NAMES, PROTECTIONS, Stampede

PATTERN_KNOBS = ("keys", "read_ratio", "skew", "ttl", "jitter", "db_latency_ms")
HERD_KNOBS = ("keys", "readers", "ttl", "jitter", "db_latency_ms")
# A solution's run blocks the admin's save while it runs: keep it short.
ACTION_MAX_SECONDS = 5


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.1f} %"


def _matches(params: dict, knobs: dict) -> bool:
    return all(
        isinstance(params.get(k), int | float) and math.isclose(params[k], float(v))
        for k, v in knobs.items()
    )


def _finished(learner_id: str, kind: str, knobs: dict) -> list[Run]:
    done = Run.objects.of(learner_id).finished().filter(kind=kind)
    return [r for r in done if r.result and _matches(r.params, knobs)]


def _knob_errors(kind: str, name: str, knobs: object, allowed: tuple[str, ...]) -> list[str]:
    """The workload must be a table of known knobs, each within the bench's bounds."""
    if not isinstance(knobs, dict) or not knobs:
        return [f"a bench_{kind} check needs {name} = {{{', '.join(allowed)}}}"]
    errors = [
        f"{name} has no knob {k!r} (one of {', '.join(allowed)})" for k in knobs if k not in allowed
    ]
    errors += [
        f"{name}.{k} must be a number" for k, v in knobs.items() if not isinstance(v, int | float)
    ]
    if errors:
        return errors
    form = form_for(kind, {k: str(v) for k, v in knobs.items()})
    form.is_valid()
    return [f"{name}.{k}: {form.errors[k][0]}" for k in knobs if k in form.errors]


def _describe_workload(knobs: dict) -> str:
    parts = {
        "keys": "{:g} keys",
        "read_ratio": "{:.0%} reads",
        "skew": "skew {:g}",
        "ttl": "TTL {:g} s",
        "jitter": "jitter {:g} s",
        "db_latency_ms": "a {:g} ms database",
    }
    return ", ".join(parts[k].format(v) for k, v in knobs.items() if k in parts)


def _describe_herd(knobs: dict) -> str:
    parts = {
        "keys": "{:g} hot key(s)",
        "readers": "{:g} readers",
        "ttl": "TTL {:g} s",
        "jitter": "jitter {:g} s",
        "db_latency_ms": "a {:g} ms database",
    }
    return ", ".join(parts[k].format(v) for k, v in knobs.items() if k in parts)


# -- bench_pattern ---------------------------------------------------------------


def pattern_errors(spec: CheckSpec) -> list[str]:
    errors = _knob_errors("pattern", "workload", spec.get("workload"), PATTERN_KNOBS)
    if spec.get("pattern") not in (None, *PATTERNS):
        errors.append(f"pattern must be one of {', '.join(PATTERNS)}")
    for name, low, high in (
        ("min_hit_ratio", 0, 1),
        ("max_stale_reads", 0, math.inf),
        ("min_stale_reads", 0, math.inf),
        ("min_seconds", 0, math.inf),
    ):
        value = spec.get(name)
        if value is not None and not (isinstance(value, int | float) and low <= value <= high):
            errors.append(f"{name} must be a number from {low} to {high}")
    return errors


def _pattern_problems(spec: CheckSpec, run: Run) -> list[str]:
    result, problems = run.result, []
    least, most = spec.get("min_hit_ratio"), spec.get("max_stale_reads")
    fewest = spec.get("min_stale_reads")
    if least is not None and result["hit_ratio"] < least:
        problems.append(
            f"served {_pct(result['hit_ratio'])} of reads from the cache; "
            f"the lab asks for at least {_pct(least)}"
        )
    if most is not None and result["stale_reads"] > most:
        asked = "none" if most == 0 else f"at most {most:g}"
        problems.append(f"served {result['stale_reads']} stale reads; the lab asks for {asked}")
    if fewest is not None and result["stale_reads"] < fewest:
        problems.append(
            f"served {result['stale_reads']} stale reads; this step wants to see at least "
            f"{fewest:g}"
        )
    return problems


def _shown(run: Run) -> str:
    result = run.result
    return (
        f"{run.label}, {run.params['seconds']:g} s: {_pct(result['hit_ratio'])} hits, "
        f"{result['stale_reads']} stale reads"
    )


def check_pattern(learner_id: str, spec: CheckSpec) -> CheckResult:
    workload, pattern = dict(spec.get("workload")), spec.get("pattern")
    found = [
        r
        for r in _finished(learner_id, Run.Kind.PATTERN, workload)
        if pattern is None or r.params.get("pattern") == pattern
    ]
    which = f"{PATTERNS[pattern]} run" if pattern else "run"
    if not found:
        return CheckResult(
            False,
            f"No finished {which} on the lab's workload yet ({_describe_workload(workload)}).",
        )
    shortest = spec.get("min_seconds") or 0
    long_enough = [r for r in found if r.params["seconds"] >= shortest]
    if not long_enough:
        return CheckResult(
            False,
            f"Your {which}s on the workload lasted under {shortest:g} s: make the run at least "
            f"{shortest:g} s long, so the cache has time to fill.",
        )
    best = min(
        long_enough,
        key=lambda r: (
            len(_pattern_problems(spec, r)),
            r.result["stale_reads"],
            -r.result["hit_ratio"],
        ),
    )
    problems = _pattern_problems(spec, best)
    if problems:
        return CheckResult(False, f"Your closest run ({_shown(best)}) {'; and '.join(problems)}.")
    return CheckResult(True, f"{_shown(best)}.")


# -- bench_stampede --------------------------------------------------------------


def stampede_errors(spec: CheckSpec) -> list[str]:
    errors = _knob_errors("stampede", "herd", spec.get("herd"), HERD_KNOBS)
    protection, cut = spec.get("protection"), spec.get("cut")
    if protection is None and cut is None:
        errors.append("a bench_stampede check needs a protection, a cut, or both")
    if protection not in (None, *PROTECTIONS):
        errors.append(f"protection must be one of {', '.join(PROTECTIONS)}")
    if cut is not None and not (isinstance(cut, int | float) and cut > 1):
        errors.append("cut must be a number above 1 (how many times fewer reads at expiry)")
    if cut is not None and protection == "none":
        errors.append("a cut is measured against protection none: give the cut a protection")
    return errors


def _spans_expiry(run: Run) -> bool:
    """Only a run that outlived the hot key's TTL saw the moment it expired."""
    params = run.params
    jitter = params.get("jitter", 0) if params.get("protection") == "jitter" else 0
    return params["seconds"] > params["ttl"] + jitter


def _at_expiry(run: Run) -> int:
    return int(run.result["db_reads_at_expiry"])


def check_stampede(learner_id: str, spec: CheckSpec) -> CheckResult:
    herd, protection, cut = dict(spec.get("herd")), spec.get("protection"), spec.get("cut")
    every = _finished(learner_id, Run.Kind.STAMPEDE, herd)
    found = [r for r in every if _spans_expiry(r)]
    if every and not found:
        return CheckResult(
            False,
            "Your runs on the herd ended before the hot key expired: make the run longer than "
            "its TTL.",
        )
    if cut is None:
        mine = [r for r in found if r.params["protection"] == protection]
        if not mine:
            return CheckResult(
                False,
                f"No finished stampede run with {PROTECTION_NAMES[protection]} on the lab's herd "
                f"yet ({_describe_herd(herd)}).",
            )
        run = max(mine, key=_at_expiry)
        return CheckResult(True, f"{run.label}: {_at_expiry(run)} database reads at expiry.")
    plain = [r for r in found if r.params["protection"] == "none"]
    if not plain:
        return CheckResult(
            False,
            "Run the herd without protection first: its database reads at expiry are the "
            "figure to beat.",
        )
    baseline = max(_at_expiry(r) for r in plain)
    allowed = int(baseline // cut)
    protected = [
        r
        for r in found
        if r.params["protection"] != "none" and protection in (None, r.params["protection"])
    ]
    if not protected:
        return CheckResult(
            False,
            f"Unprotected, {baseline} reads reached the database at expiry. Now run the herd with "
            f"a protection: the lab asks for at most {allowed}.",
        )
    best = min(protected, key=_at_expiry)
    hits = _at_expiry(best)
    if hits > allowed:
        return CheckResult(
            False,
            f"Unprotected, {baseline} reads reached the database at expiry; your best protected "
            f"run ({best.label}) let {hits} through. The lab asks for at most {allowed}.",
        )
    return CheckResult(
        True, f"{best.label}: {hits} database reads at expiry against {baseline} unprotected."
    )


# -- where the learner does it, and the validator's action ---------------------------


def _bench_url(kind: str, knobs: dict, lab_slug: str, order: type, **more: str) -> str:
    # Knobs in the bench form's own order: the spec's dict order is not kept by
    # every database (PostgreSQL's jsonb sorts keys), and a link should not
    # change with the database.
    names = [f.name for f in dataclasses.fields(order)]
    ordered = sorted(knobs, key=lambda k: (names.index(k) if k in names else len(names), k))
    query = {"kind": kind, **{k: f"{knobs[k]:g}" for k in ordered}, **more, "lab": lab_slug}
    return f"{reverse('patterns:page')}?{urlencode(query)}#{kind}-heading"


def pattern_link(spec: CheckSpec, lab_slug: str) -> Link:
    pattern = spec.get("pattern")
    more = {"pattern": pattern} if pattern else {}
    url = _bench_url("pattern", dict(spec.get("workload")), lab_slug, Workload, **more)
    return Link("Open the bench with the lab's workload", url)


def stampede_link(spec: CheckSpec, lab_slug: str) -> Link:
    protection = spec.get("protection")
    more = {"protection": protection} if protection else {}
    url = _bench_url("stampede", dict(spec.get("herd")), lab_slug, Stampede, **more)
    return Link("Open the stampede demo with the lab's herd", url)


def bench_action(learner_id: str, line: str) -> Outcome:
    """`bench kind=stampede protection=lock keys=1 ...`: one run, measured, awaited.

    Knobs not given take the bench form's defaults; the form's bounds apply,
    and the run may last at most ACTION_MAX_SECONDS.
    """
    try:
        words = shlex.split(line)[1:]
    except ValueError as exc:
        return Outcome(reply=f"Cannot read the bench line: {exc}", error=True)
    pairs = [w.partition("=") for w in words]
    if any(not sep or not name for name, sep, _ in pairs):
        return Outcome(reply="Write the bench line as bench name=value ...", error=True)
    data = {name: value for name, _, value in pairs}
    kind = data.pop("kind", Run.Kind.PATTERN)
    if kind not in Run.Kind.values:
        return Outcome(reply="kind must be pattern or stampede.", error=True)
    defaults = STAMPEDE_DEFAULTS if kind == Run.Kind.STAMPEDE else PATTERN_DEFAULTS
    if unknown := sorted(set(data) - set(defaults)):
        return Outcome(reply=f"The bench has no knob {', '.join(unknown)}.", error=True)
    form = form_for(kind, data)
    if not form.is_valid():
        return Outcome(reply=next(iter(form.errors.values()))[0], error=True)
    if form.cleaned_data["seconds"] > ACTION_MAX_SECONDS:
        return Outcome(
            reply=f"A solution's run may last at most {ACTION_MAX_SECONDS} s.", error=True
        )
    params = form.demo() if kind == Run.Kind.STAMPEDE else form.workload()
    run = runs.run_now(learner_id, kind, params.as_dict())
    if run.status != Run.Status.DONE:
        return Outcome(reply=f"The run failed: {run.error}", error=True)
    if kind == Run.Kind.STAMPEDE:
        return Outcome(reply=f"{run.label}: {_at_expiry(run)} database reads at expiry")
    return Outcome(reply=_shown(run))
