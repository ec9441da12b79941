"""Geometry for the run page's server-rendered SVG charts (SVG user units).

Each chart's figures also go to a table beside it, so the charts are a
picture of the table rather than the only place the numbers live.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 12, 36


@dataclass
class Bar:
    x: float
    y: float
    w: float
    h: float
    label: str
    value: int
    series: str = "a"


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    gridlines: list[tuple[float, str]] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    lines: dict[str, str] = field(default_factory=dict)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    baseline: float = HEIGHT - BOTTOM
    right: float = WIDTH - RIGHT


def _scale_y(value: float, top: float) -> float:
    plot = HEIGHT - TOP - BOTTOM
    return round(HEIGHT - BOTTOM - (value / top) * plot if top else HEIGHT - BOTTOM, 1)


def _nice_top(value: float) -> int:
    """A round axis top at or above `value`: 1, 2 or 5 × 10^n."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    return next(int(m * magnitude) for m in (1, 2, 5, 10) if m * magnitude >= value)


def bucket_label(le: float | None, previous: float | None) -> str:
    if le is None:
        return f"over {previous:g} ms"
    return f"up to {le:g} ms"


def latency_rows(read_hist: list[dict], write_hist: list[dict] | None) -> list[dict]:
    """The histogram's table: one row per bucket between the first and last used."""
    writes = write_hist or [{"count": 0}] * len(read_hist)
    used = [
        i
        for i, (r, w) in enumerate(zip(read_hist, writes, strict=True))
        if r["count"] or w["count"]
    ]
    if not used:
        return []
    rows, previous = [], None
    for i in range(used[0], used[-1] + 1):
        le = read_hist[i]["le"]
        label = bucket_label(le, read_hist[i - 1]["le"] if i else previous)
        rows.append({"label": label, "reads": read_hist[i]["count"], "writes": writes[i]["count"]})
        previous = le
    return rows


def latency_chart(rows: list[dict]) -> Chart | None:
    """Grouped bars: reads and writes per latency bucket."""
    if not rows:
        return None
    top = _nice_top(max(max(r["reads"], r["writes"]) for r in rows))
    chart = Chart()
    chart.gridlines = [(_scale_y(top * f, top), f"{round(top * f):g}") for f in (0, 0.5, 1)]
    slot = (WIDTH - LEFT - RIGHT) / len(rows)
    bar = slot * 0.38
    for i, row in enumerate(rows):
        x = LEFT + i * slot + slot * 0.1
        for j, series in enumerate(("reads", "writes")):
            y = _scale_y(row[series], top)
            chart.bars.append(
                Bar(round(x + j * bar, 1), y, round(bar, 1), round(chart.baseline - y, 1),
                    f"{row[series]} {series} {row['label']}", row[series], series)
            )  # fmt: skip
        chart.ticks.append((round(LEFT + (i + 0.5) * slot, 1), row["label"].replace("up to ", "≤")))
    return chart


def timeline_rows(slices: list[dict], slice_s: float) -> list[dict]:
    rows = []
    for i, s in enumerate(slices):
        reads = s["reads"]
        rows.append(
            {
                "until": round((i + 1) * slice_s, 2),
                "reads": reads,
                "hit_ratio": round(s["hits"] / reads * 100, 1) if reads else None,
                "stale": round(s["stale"] / reads * 100, 1) if reads else None,
                "stale_reads": s["stale"],
                "db_reads": s["db_reads"],
                "at_risk": s.get("at_risk", 0),
            }
        )
    return rows


def timeline_chart(rows: list[dict]) -> Chart | None:
    """Two lines over the run: hit ratio and the share of stale reads, 0–100 %."""
    if not any(r["reads"] for r in rows):
        return None
    chart = Chart()
    chart.gridlines = [(_scale_y(v, 100), f"{v}%") for v in (0, 25, 50, 75, 100)]
    step = (WIDTH - LEFT - RIGHT) / max(len(rows) - 1, 1)
    for name in ("hit_ratio", "stale"):
        points = [
            f"{round(LEFT + i * step, 1)},{_scale_y(r[name], 100)}"
            for i, r in enumerate(rows)
            if r[name] is not None
        ]
        chart.lines[name] = " ".join(points)
    for i in (0, len(rows) // 2, len(rows) - 1):
        chart.ticks.append((round(LEFT + i * step, 1), f"{rows[i]['until']:g} s"))
    return chart


def herd_rows(per_slice: list[int], slice_s: float) -> list[dict]:
    return [{"until": round((i + 1) * slice_s, 2), "db_reads": n} for i, n in enumerate(per_slice)]


def herd_chart(rows: list[dict]) -> Chart | None:
    """Database reads per slice of the stampede run: the herd is a spike."""
    if not rows:
        return None
    top = _nice_top(max(max(r["db_reads"] for r in rows), 1))
    chart = Chart()
    chart.gridlines = [(_scale_y(top * f, top), f"{round(top * f):g}") for f in (0, 0.5, 1)]
    slot = (WIDTH - LEFT - RIGHT) / len(rows)
    for i, row in enumerate(rows):
        y = _scale_y(row["db_reads"], top)
        label = f"{row['db_reads']} database reads by {row['until']:g} s"
        chart.bars.append(
            Bar(round(LEFT + i * slot + 1, 1), y, round(max(slot - 2, 1), 1),
                round(chart.baseline - y, 1), label, row["db_reads"])
        )  # fmt: skip
    for i in (0, len(rows) // 2, len(rows) - 1):
        chart.ticks.append((round(LEFT + (i + 0.5) * slot, 1), f"{rows[i]['until']:g} s"))
    return chart
