"""`make bench`: load-test the hot paths under gunicorn beside a bare Django floor.

Starts everything itself (embedded Redis servers unless REDIS_URL /
SANDBOX_REDIS_URL are set, a throwaway SQLite database unless DATABASE_URL is
set), serves the site with the same gunicorn settings as `make serve`, and
drives it with locust in this process:

1. saturation: 50 learners with no think time, per endpoint: requests per
   second and p50/p95/p99, and each endpoint's throughput as a ratio of the
   bare Django response measured the same way in the same run;
2. a class at once: 500 learners who read 5–15 s between clicks: errors and
   p50/p95/p99 per endpoint.

An endpoint whose learners click through other requests too (the quiz: next
question, start, finish, results) reports those as its steps, on rows of
their own below it.

BENCH_SECONDS sets each measurement's length (default 15). Results are printed
and written to bench-results/latest.md.
"""

# ruff: noqa: I001  (locust must be imported first: it patches the standard library)
from locust import events  # noqa: F401

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import gevent
from locust.env import Environment

from config.embedded import free_port, start_missing_servers, stop_all
from config.launch import prepare_site
from config.serve import gunicorn_command
from tests.bench.scenarios import ENDPOINTS, THINK

ROOT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))


@dataclass
class Result:
    name: str
    step: bool
    users: int
    rps: float
    p50: float
    p95: float
    p99: float
    requests: int
    failures: int


def measure(user_class, host: str, users: int, think=None) -> list[Result]:
    """The endpoint's figures, then its steps' (see the module docstring)."""
    if think is not None:
        user_class = type(user_class.__name__, (user_class,), {"wait_time": think})
    env = Environment(user_classes=[user_class], host=host)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=users)
    # Let every learner arrive and warm up, then measure a clean window.
    deadline = time.monotonic() + 30
    while runner.user_count < users and time.monotonic() < deadline:
        gevent.sleep(0.1)
    # With think time, wait out the first wave (every learner clicks at once).
    gevent.sleep(10.0 if think is not None else min(3.0, SECONDS / 3))
    # Only the timings start clean: errors while learners arrived count too.
    failures = _failures(env)
    env.stats.reset_all()
    started = time.monotonic()
    gevent.sleep(SECONDS)
    elapsed = time.monotonic() - started
    runner.quit()
    failures += _failures(env)
    # Failed set-up requests count against the endpoint itself.
    failures[user_class.name] += failures["setup"]
    entries = {name: entry for (name, _method), entry in env.stats.entries.items()}
    results = []
    for name in (user_class.name, *getattr(user_class, "steps", ())):
        entry = entries.get(name)
        if entry is None:
            continue
        results.append(
            Result(
                name=name,
                step=name != user_class.name,
                users=users,
                rps=entry.num_requests / elapsed,
                p50=entry.get_response_time_percentile(0.50),
                p95=entry.get_response_time_percentile(0.95),
                p99=entry.get_response_time_percentile(0.99),
                requests=entry.num_requests,
                failures=failures[name],
            )
        )
    return results


def _failures(env: Environment) -> Counter:
    counts = Counter()
    for (name, _method), entry in env.stats.entries.items():
        counts[name] += entry.num_failures
    return counts


def wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="cachelab-bench-"))
    env = {
        **os.environ,
        "DEBUG": "0",
        "HTTPS": "0",
        "BENCH_FLOOR": "1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SANDBOX_BURST": "1000000",  # measure the engine, not the per-learner limiter's refusals
        "SANDBOX_RATE": "1000000",
    }
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    servers = start_missing_servers(env)
    port = free_port()
    # Exactly what `make serve` runs, on a loopback port.
    command = gunicorn_command(env, f"127.0.0.1:{port}", "/dev/null")
    workers = command[command.index("--workers") + 1]
    gunicorn = None
    try:
        prepare_site(env, collectstatic=True)
        gunicorn = subprocess.Popen(command, env=env, cwd=ROOT)
        host = f"http://127.0.0.1:{port}"
        wait_until_up(f"{host}/healthz")
        print(f"gunicorn: {workers} workers on {host}; {SECONDS:g} s per measurement", flush=True)

        saturation = [r for cls in ENDPOINTS for r in measure(cls, host, 50)]
        floor = saturation[0].rps
        crowd = [r for cls in ENDPOINTS for r in measure(cls, host, 500, THINK)]
        report = format_report(saturation, crowd, floor, workers)
        print(report)
        out = ROOT / "bench-results"
        out.mkdir(exist_ok=True)
        (out / "latest.md").write_text(report)
        return 0
    finally:
        if gunicorn:
            gunicorn.terminate()
            gunicorn.wait(timeout=15)
        stop_all(servers)


def format_report(saturation: list[Result], crowd: list[Result], floor: float, workers: str) -> str:
    lines = [
        f"CacheLab benchmark · {socket.gethostname()} · {os.cpu_count()} cores · "
        f"gunicorn {workers} sync workers",
        "",
        "50 learners, no think time (saturation):",
        "",
        "| endpoint | req/s | × bare Django | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in saturation:
        # A step shares its learners' time with the endpoint: no ratio of its own.
        ratio = "" if r.step else f"{r.rps / floor:.2f}"
        lines.append(f"| {_label(r)} | {r.rps:.0f} | {ratio} | {_latencies(r)} | {r.failures} |")
    lines += [
        "",
        "500 learners, 5–15 s between clicks:",
        "",
        "| endpoint | req/s | p50 ms | p95 ms | p99 ms | requests | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in crowd:
        lines.append(
            f"| {_label(r)} | {r.rps:.0f} | {_latencies(r)} | {r.requests} | {r.failures} |"
        )
    return "\n".join(lines) + "\n"


def _label(result: Result) -> str:
    return f"↳ {result.name}" if result.step else result.name


def _latencies(result: Result) -> str:
    # A step nobody reached in the window (the crowd's retakes) has no latency, not 0 ms.
    if not result.requests:
        return "– | – | –"
    return f"{result.p50:.0f} | {result.p95:.0f} | {result.p99:.0f}"


if __name__ == "__main__":
    sys.exit(main())
