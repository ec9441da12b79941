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
from dataclasses import dataclass
from pathlib import Path

import gevent
from locust.env import Environment

from config.embedded import free_port, start_missing_servers, stop_all
from config.launch import prepare_site
from tests.bench.scenarios import ENDPOINTS, THINK

ROOT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))


@dataclass
class Result:
    name: str
    users: int
    rps: float
    p50: float
    p95: float
    p99: float
    requests: int
    failures: int


def measure(user_class, host: str, users: int, think=None) -> Result:
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
    env.stats.reset_all()
    started = time.monotonic()
    gevent.sleep(SECONDS)
    elapsed = time.monotonic() - started
    entry = (
        env.stats.get(user_class.name, "GET")
        if user_class.name in ("bare Django", "home", "topic page")
        else env.stats.get(user_class.name, "POST")
    )
    failures = sum(e.num_failures for e in env.stats.entries.values())
    runner.quit()
    return Result(
        name=user_class.name,
        users=users,
        rps=entry.num_requests / elapsed,
        p50=entry.get_response_time_percentile(0.50),
        p95=entry.get_response_time_percentile(0.95),
        p99=entry.get_response_time_percentile(0.99),
        requests=entry.num_requests,
        failures=failures,
    )


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
    workers = env.get("WEB_CONCURRENCY") or str(os.cpu_count() or 2)
    port = free_port()
    gunicorn = None
    try:
        prepare_site(env, collectstatic=True)
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", workers,
             "--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null", "--backlog", "2048"],
            env=env, cwd=ROOT,
        )  # fmt: skip
        host = f"http://127.0.0.1:{port}"
        wait_until_up(f"{host}/healthz")
        print(f"gunicorn: {workers} workers on {host}; {SECONDS:g} s per measurement", flush=True)

        saturation = [measure(cls, host, 50) for cls in ENDPOINTS]
        floor = saturation[0].rps
        crowd = [measure(cls, host, 500, THINK) for cls in ENDPOINTS]
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
        ratio = r.rps / floor
        lines.append(
            f"| {r.name} | {r.rps:.0f} | {ratio:.2f} | {r.p50:.0f} | {r.p95:.0f} | "
            f"{r.p99:.0f} | {r.failures} |"
        )
    lines += [
        "",
        "500 learners, 5–15 s between clicks:",
        "",
        "| endpoint | req/s | p50 ms | p95 ms | p99 ms | requests | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in crowd:
        lines.append(
            f"| {r.name} | {r.rps:.0f} | {r.p50:.0f} | {r.p95:.0f} | {r.p99:.0f} | "
            f"{r.requests} | {r.failures} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
