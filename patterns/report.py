"""What the pages show of a run: its figures as rows, its charts, comparisons."""

from __future__ import annotations

from collections.abc import Sequence

from patterns import charts
from patterns.models import Run

CONTRACT = (
    "reads", "writes", "hits", "misses", "hit_ratio", "stale_reads", "db_reads", "db_writes",
    "read_ms", "write_ms", "writes_at_risk_max", "writes_at_risk_end", "redis_bytes",
)  # fmt: skip
WORKLOAD = ("keys", "read_ratio", "skew", "db_latency_ms", "seconds", "seed")
METRICS = (
    ("Reads", "reads", "{:,}"),
    ("Writes", "writes", "{:,}"),
    ("Hit ratio", "hit_ratio", "{:.1%}"),
    ("Stale reads", "stale_reads", "{:,}"),
    ("Database reads", "db_reads", "{:,}"),
    ("Database writes", "db_writes", "{:,}"),
    ("Read p50", "read_ms.p50", "{:.2f} ms"),
    ("Read p95", "read_ms.p95", "{:.2f} ms"),
    ("Read p99", "read_ms.p99", "{:.2f} ms"),
    ("Write p50", "write_ms.p50", "{:.2f} ms"),
    ("Write p95", "write_ms.p95", "{:.2f} ms"),
    ("Write p99", "write_ms.p99", "{:.2f} ms"),
    ("Writes at risk, most at once", "writes_at_risk_max", "{:,}"),
    ("Writes at risk, when the load stopped", "extra.writes_at_risk_at_stop", "{:,}"),
    ("Writes at risk, at the end", "writes_at_risk_end", "{:,}"),
    ("Redis memory used", "redis_bytes", "{:,} bytes"),
    ("Keys in Redis at the end", "extra.redis_keys", "{:,}"),
)
STAMPEDE_METRICS = (
    ("Database reads at expiry", "db_reads_at_expiry", "{:,}"),
    ("Reads", "reads", "{:,}"),
    ("Hit ratio", "hit_ratio", "{:.1%}"),
    ("Database reads", "db_reads", "{:,}"),
    ("Refills", "extra.refills", "{:,}"),
    ("Readers that waited for the lock", "extra.waited_for_lock", "{:,}"),
    ("Read p50", "read_ms.p50", "{:.2f} ms"),
    ("Read p95", "read_ms.p95", "{:.2f} ms"),
    ("Read p99", "read_ms.p99", "{:.2f} ms"),
    ("Redis memory used", "redis_bytes", "{:,} bytes"),
)


def public_result(run: Run) -> dict | None:
    """The result exactly as the JSON contract has it."""
    if run.result is None:
        return None
    fields = (*CONTRACT, "db_reads_at_expiry") if run.kind == Run.Kind.STAMPEDE else CONTRACT
    return {name: run.result[name] for name in fields}


def _lookup(result: dict, path: str):
    value = result
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def metric_rows(run: Run) -> list[dict]:
    metrics = STAMPEDE_METRICS if run.kind == Run.Kind.STAMPEDE else METRICS
    rows = []
    for label, path, shown in metrics:
        value = _lookup(run.result or {}, path)
        rows.append({"label": label, "value": "–" if value is None else shown.format(value)})
    return rows


def same_workload(runs: Sequence[Run]) -> bool:
    keys = {tuple(r.params.get(k) for k in WORKLOAD) for r in runs}
    return len(runs) > 1 and len(keys) == 1


def comparison(runs: Sequence[Run]) -> dict | None:
    """Runs side by side: one column per run, one row per figure."""
    runs = [r for r in runs if r.result is not None]
    if not runs:
        return None
    kinds = {r.kind for r in runs}
    metrics = STAMPEDE_METRICS if kinds == {Run.Kind.STAMPEDE} else METRICS
    rows = []
    for label, path, shown in metrics:
        values = [_lookup(r.result, path) for r in runs]
        rows.append(
            {"label": label, "values": ["–" if v is None else shown.format(v) for v in values]}
        )
    return {"runs": runs, "rows": rows, "same_workload": same_workload(runs)}


def run_charts(run: Run) -> dict:
    """Chart geometry and the tables that say the same, for a finished run."""
    extra = (run.result or {}).get("extra", {})
    if run.kind == Run.Kind.STAMPEDE:
        herd = charts.herd_rows(extra.get("db_reads_per_slice", []), extra.get("slice_s", 0))
        latency = charts.latency_rows(extra.get("read_hist", []), None)
        return {
            "herd": charts.herd_chart(herd),
            "herd_rows": herd,
            "latency": charts.latency_chart(latency),
            "latency_rows": latency,
        }
    timeline = charts.timeline_rows(extra.get("slices", []), extra.get("slice_s", 0))
    latency = charts.latency_rows(extra.get("read_hist", []), extra.get("write_hist"))
    return {
        "timeline": charts.timeline_chart(timeline),
        "timeline_rows": timeline,
        "latency": charts.latency_chart(latency),
        "latency_rows": latency,
    }
