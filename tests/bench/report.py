"""The bench's tables: medians over rounds, ratios to the bare floor, targets met or not.

Plain functions on plain figures, so tests/bench/test_report.py can check them
without a server.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

OK, MISSED = "✓", "✗"


@dataclass(frozen=True)
class Row:
    """One endpoint's figures over the rounds (rates per second, latencies in ms)."""

    name: str
    target: float | None  # the least ratio to the bare floor the issue asks for
    rps: list[float]
    p50: list[float]
    p95: list[float]
    p99: list[float]
    errors: int  # responses with a status of 400 or more, over all rounds
    socket_errors: int = 0
    note: str = ""  # why there are no figures ("n/a until labs land")

    @property
    def measured(self) -> bool:
        return bool(self.rps)

    @property
    def median_rps(self) -> float:
        return statistics.median(self.rps)


def ratio(row: Row, floor: Row) -> float:
    return row.median_rps / floor.median_rps


def verdict(row: Row, floor: Row) -> str:
    """✓ when the ratio reaches the target with no errors; blank without a target."""
    if row.target is None:
        return MISSED if row.errors or row.socket_errors else ""
    met = ratio(row, floor) >= row.target and not (row.errors or row.socket_errors)
    return OK if met else MISSED


def saturation_table(rows: list[Row], floor: Row) -> list[str]:
    lines = [
        "| endpoint | target | req/s | × bare | met | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|:---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        target = f"≥ {row.target:.2f}×" if row.target is not None else "–"
        if not row.measured:
            lines.append(f"| {row.name} | {target} | {row.note} | | | | | | |")
            continue
        errors = f"{row.errors}" + (f" (+{row.socket_errors} socket)" if row.socket_errors else "")
        lines.append(
            f"| {row.name} | {target} | {row.median_rps:.0f} | {ratio(row, floor):.2f} "
            f"| {verdict(row, floor)} | {_ms(row.p50)} | {_ms(row.p95)} | {_ms(row.p99)} "
            f"| {errors} |"
        )
    return lines


@dataclass(frozen=True)
class Cpu:
    """CPU seconds the generator and the server used during one measurement."""

    name: str
    wall: float
    generator: float
    server: float


def cpu_table(samples: list[Cpu]) -> list[str]:
    """Per endpoint, over the rounds: wrk's CPU beside the server's, as % of one core."""
    names = list(dict.fromkeys(s.name for s in samples))
    lines = [
        "| endpoint | wrk CPU | server CPU | wrk ÷ server |",
        "|---|---:|---:|---:|",
    ]
    for name in names:
        mine = [s for s in samples if s.name == name]
        wall = sum(s.wall for s in mine)
        generator = sum(s.generator for s in mine)
        server = sum(s.server for s in mine)
        share = f"{generator / server:.2f}" if server else "–"
        lines.append(
            f"| {name} | {100 * generator / wall:.0f} % | {100 * server / wall:.0f} % | {share} |"
        )
    return lines


@dataclass(frozen=True)
class LoadResult:
    """A locust measurement: the crowd with think time, or the class start wave."""

    name: str
    rps: float
    p50: float
    p95: float
    p99: float
    requests: int
    errors: int
    step: bool = False  # a click on the way (next question, finish), not the endpoint itself


def latency_table(results: list[LoadResult], p95_under_ms: float) -> list[str]:
    """Latency and errors per endpoint, beside the target (0 errors, p95 under the bound)."""
    lines = [
        "| endpoint | target | req/s | p50 ms | p95 ms | p99 ms | requests | errors | met |",
        "|---|---|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    target = f"0 errors, p95 < {p95_under_ms:g} ms"
    for r in results:
        name = f"↳ {r.name}" if r.step else r.name
        if not r.requests:
            # A step the window ended before (a crowd's quiz takes minutes to finish).
            met = "not reached" if r.step and not r.errors else MISSED
            lines.append(f"| {name} | {target} | 0 | – | – | – | 0 | {r.errors} | {met} |")
            continue
        met = OK if r.errors == 0 and r.p95 < p95_under_ms else MISSED
        lines.append(
            f"| {name} | {target} | {r.rps:.0f} | {r.p50:.0f} | {r.p95:.0f} | {r.p99:.0f} "
            f"| {r.requests} | {r.errors} | {met} |"
        )
    return lines


def _ms(values: list[float]) -> str:
    value = statistics.median(values)
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"
