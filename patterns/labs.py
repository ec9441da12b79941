"""What the two bench labs check, on the learner's own measured runs.

The guided-labs engine (labs/) will call these; until it is merged they are
plain functions with a verdict and a message, like the labs' checks. Only
finished runs count, and only their measured results: nothing the browser says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from patterns.models import Run

# pick-a-pattern: the read-heavy workload the lab gives (the learner picks the
# pattern and its TTL; these knobs must be as given).
READ_HEAVY = {"keys": 200, "read_ratio": 0.95, "skew": 1.0, "db_latency_ms": 5.0}
PICK_HIT_RATIO = 0.8
# stop-the-stampede: the herd the lab gives; cut its database hits at expiry 5×.
HERD = {"keys": 1, "readers": 12, "ttl": 1.0, "db_latency_ms": 50.0}
STAMPEDE_CUT = 5


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str


def _matches(params: dict, workload: dict) -> bool:
    return all(
        isinstance(params.get(k), int | float) and math.isclose(params[k], v)
        for k, v in workload.items()
    )


def _runs(learner_id: str, kind: str, workload: dict) -> list[Run]:
    done = Run.objects.of(learner_id).finished().filter(kind=kind)
    return [r for r in done if _matches(r.params, workload)]


def best_run(learner_id: str, workload: dict, kind: str = Run.Kind.PATTERN) -> Run | None:
    """The learner's best finished run on `workload` (those knobs as given).

    A pattern run is best with no stale reads, then the highest hit ratio; a
    stampede run is best with the fewest database reads at expiry.
    """
    runs = _runs(learner_id, kind, workload)
    if not runs:
        return None
    if kind == Run.Kind.STAMPEDE:
        return min(runs, key=lambda r: r.result["db_reads_at_expiry"])
    return max(runs, key=lambda r: (r.result["stale_reads"] == 0, r.result["hit_ratio"]))


def check_pick_a_pattern(learner_id: str) -> Verdict:
    run = best_run(learner_id, READ_HEAVY)
    if run is None:
        return Verdict(False, "Run any pattern on the lab's workload first (its knobs as given).")
    result = run.result
    if result["stale_reads"]:
        return Verdict(
            False,
            f"Your best run served {result['stale_reads']} stale reads. Which patterns keep the "
            "cache in step with every write?",
        )
    if result["hit_ratio"] < PICK_HIT_RATIO:
        return Verdict(
            False,
            f"No stale reads, but a hit ratio of {result['hit_ratio']:.0%}; the lab asks for "
            f"{PICK_HIT_RATIO:.0%}. Would a longer TTL, or none, keep more keys cached?",
        )
    return Verdict(True, f"{run.label}: {result['hit_ratio']:.0%} hits and no stale reads.")


def check_stop_the_stampede(learner_id: str) -> Verdict:
    herd = _runs(learner_id, Run.Kind.STAMPEDE, HERD)
    plain = [r for r in herd if r.params["protection"] == "none"]
    if not plain:
        return Verdict(False, "Run the herd without protection first, to see the spike.")
    baseline = max(r.result["db_reads_at_expiry"] for r in plain)
    best = best_run(learner_id, HERD, Run.Kind.STAMPEDE)
    hits = best.result["db_reads_at_expiry"]
    if best.params["protection"] == "none" or hits * STAMPEDE_CUT > baseline:
        return Verdict(
            False,
            f"Unprotected, {baseline} reads reached the database at expiry; your best protected "
            f"run let {hits} through. The lab asks for at most {baseline // STAMPEDE_CUT}.",
        )
    return Verdict(True, f"{best.label}: {hits} database reads at expiry against {baseline}.")
