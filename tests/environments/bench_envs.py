"""Measure lab environments: start time, memory, idle CPU, failover recovery.

    .venv/bin/python -m tests.environments.bench_envs [--starts 10] [--failovers 10]

Not collected by pytest (its name does not start with test_). Figures from a
busy machine are upper bounds: say what else was running beside them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from labs.environments.local import LocalProvider
from labs.environments.nodes import wait_until
from labs.environments.provider import Environment
from labs.environments.settings import LabSettings

TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def members(env: Environment) -> list[int]:
    return [n.pid for n in [*env.nodes, *env.sentinels] if n.pid]


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def pss_bytes(pids: list[int]) -> int:
    """Proportional set size: shared pages (the binary, libc) split between processes."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
    return total


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICKS


def idle_cpu_percent(env: Environment, seconds: float) -> float:
    pids = members(env)
    before, began = cpu_seconds(pids), time.monotonic()
    time.sleep(seconds)  # a measurement window, not a wait for a condition
    return 100 * (cpu_seconds(pids) - before) / (time.monotonic() - began)


def measure_kind(provider: LocalProvider, kind: str, starts: int, idle: float) -> dict:
    times, rss, pss, cpu = [], [], [], []
    for number in range(starts):
        began = time.monotonic()
        env = provider.start(kind, f"bench-{number}")
        times.append(time.monotonic() - began)
        try:
            rss.append(rss_bytes(members(env)))
            pss.append(pss_bytes(members(env)))
            if number == 0:
                cpu.append(idle_cpu_percent(env, idle))
        finally:
            provider.stop(env)
    return {
        "kind": kind,
        "start_p50": statistics.median(times),
        "start_p95": percentile(times, 0.95),
        "rss_mb": statistics.median(rss) / 2**20,
        "pss_mb": statistics.median(pss) / 2**20,
        "idle_cpu_pct": cpu[0],
    }


def measure_failovers(provider: LocalProvider, kind: str, runs: int) -> list[int]:
    """ms from SIGKILL of a primary to the first write its replacement accepted."""
    env = provider.start(kind, "bench-failover")
    recoveries = []
    try:
        for _run in range(runs):
            status = provider.status(env)
            shard = "0002" if kind == "cluster" else "0001"
            victim = next(n.name for n in status.nodes if n.role == "primary" and n.shard == shard)
            timeline = provider.fail_node(env, victim)
            timeline.wait(40)
            recoveries.append(timeline.at("first write accepted") or -1)
            provider.restore_node(env, victim)
            wait_until(lambda: provider.status(env).state == "ready", 30, "not ready again")
    finally:
        provider.stop(env)
    return recoveries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--failovers", type=int, default=10)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cachelab-bench-labs-") as runtime:
        provider = LocalProvider(LabSettings(runtime_dir=runtime))
        print(f"binary: {provider.binary}; load average: {os.getloadavg()[0]:.2f}")
        for kind in ("cluster", "replication-group"):
            row = measure_kind(provider, kind, args.starts, args.idle_seconds)
            print(
                f"{kind:18} start p50 {row['start_p50']:.2f} s  p95 {row['start_p95']:.2f} s  "
                f"RSS {row['rss_mb']:.1f} MB  PSS {row['pss_mb']:.1f} MB  "
                f"idle CPU {row['idle_cpu_pct']:.1f} % of a core"
            )
        for kind in ("cluster", "replication-group"):
            ms = measure_failovers(provider, kind, args.failovers)
            print(
                f"{kind:18} failover: killed primary → first write accepted, ms over "
                f"{len(ms)} runs: p50 {statistics.median(ms):.0f}  max {max(ms)}  all {ms}"
            )
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
