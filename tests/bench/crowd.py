"""`make bench`'s locust parts, run by run.py in a process of their own.

    python -m tests.bench.crowd crowd HOST SECONDS   500 learners reading 5–15 s between clicks
    python -m tests.bench.crowd wave HOST            200 learners press Start within one second
    python -m tests.bench.crowd floor URL SECONDS    a Python generator flat out at the bare floor
    python -m tests.bench.crowd replay URL SECONDS FILE   the fallback when wrk is missing

Each prints one JSON document on its last line. A process of its own because
locust patches the standard library (gevent) on import, which wrk's runner
and the servers' management must not inherit.
"""

# ruff: noqa: I001  (locust must be imported first: it patches the standard library)
from locust import events  # noqa: F401

import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path

import gevent
from locust import FastHttpUser, HttpUser, constant, task
from locust.env import Environment

from tests.bench.scenarios import ENDPOINTS, THINK, StartWave, Wave

CROWD = 500
WAVE = 200
SATURATION_USERS = 50


def measure(user_class, host: str, users: int, seconds: float, settle: float) -> list[dict]:
    """Per endpoint and step: req/s, p50/p95/p99 (ms), requests, errors."""
    env = Environment(user_classes=[user_class], host=host)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=users)
    deadline = time.monotonic() + 30
    while runner.user_count < users and time.monotonic() < deadline:
        gevent.sleep(0.1)
    # Let the first wave pass (with think time every learner clicks at once).
    gevent.sleep(settle)
    # Only the timings start clean: errors while learners arrived count too.
    failures = _failures(env)
    env.stats.reset_all()
    started = time.monotonic()
    gevent.sleep(seconds)
    elapsed = time.monotonic() - started
    runner.quit()
    failures += _failures(env)
    return _results(env, user_class, failures, elapsed)


def _results(env: Environment, user_class, failures: Counter, elapsed: float) -> list[dict]:
    # Failed set-up requests count against the endpoint itself.
    failures[user_class.name] += failures["setup"]
    entries = {name: entry for (name, _method), entry in env.stats.entries.items()}
    results = []
    for name in (user_class.name, *getattr(user_class, "steps", ())):
        entry = entries.get(name)
        count = entry.num_requests if entry else 0
        results.append(
            {
                "name": name,
                "step": name != user_class.name,
                "rps": count / elapsed if elapsed else 0.0,
                "p50": entry.get_response_time_percentile(0.50) if count else 0,
                "p95": entry.get_response_time_percentile(0.95) if count else 0,
                "p99": entry.get_response_time_percentile(0.99) if count else 0,
                "requests": count,
                "errors": failures[name],
            }
        )
    return results


def _failures(env: Environment) -> Counter:
    counts = Counter()
    for (name, _method), entry in env.stats.entries.items():
        counts[name] += entry.num_failures
    return counts


def crowd(host: str, seconds: float) -> list[dict]:
    results = []
    for user_class in ENDPOINTS:
        thinking = type(user_class.__name__, (user_class,), {"wait_time": THINK})
        results += measure(thinking, host, CROWD, seconds, settle=10.0)
    return results


def wave(host: str) -> dict:
    """The class start: every learner opens the quiz, then all press Start within 1 s."""
    env = Environment(user_classes=[StartWave], host=host)
    runner = env.create_local_runner()
    runner.start(WAVE, spawn_rate=WAVE)
    _wait(lambda: Wave.arrived >= WAVE, 120, "the class to open the quiz")
    failures = _failures(env)
    env.stats.reset_all()
    started = time.monotonic()
    Wave.go.set()
    _wait(lambda: Wave.pressed >= WAVE, 120, "the class to press Start")
    elapsed = time.monotonic() - started
    runner.quit()
    failures += _failures(env)
    results = _results(env, StartWave, failures, elapsed)
    return {"results": results, "seconds": elapsed}


def _wait(done, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        gevent.sleep(0.05)


class BareFloor(FastHttpUser):
    """locust at its fastest (its C-backed client), flat out at the bare floor."""

    wait_time = constant(0)
    name = "bare floor"

    @task
    def floor(self) -> None:
        self.client.get("/", name=self.name)


def floor(url: str, seconds: float) -> dict:
    """What a Python generator gets out of the bare floor, and the CPU it burns doing so."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    result = measure(BareFloor, url, SATURATION_USERS, seconds, settle=1.0)[0]
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {**result, "cpu_seconds": cpu}


def replay(url: str, seconds: float, requests_file: Path) -> dict:
    """The fallback for wrk: replay the same prepared requests with locust users."""
    specs = json.loads(requests_file.read_text())
    turn = iter(range(10**12))

    class Replay(HttpUser):
        wait_time = constant(0)
        name = "replay"

        @task
        def send(self) -> None:
            spec = specs[next(turn) % len(specs)]
            self.client.cookies.clear()  # the prepared Cookie header is the learner's
            self.client.request(
                spec["method"], spec["path"], headers=dict(spec["headers"]),
                data=spec["body"].encode(), allow_redirects=False, name=self.name,
            )  # fmt: skip

    return measure(Replay, url, SATURATION_USERS, seconds, settle=1.0)[0]


def main(argv: list[str]) -> int:
    mode, target, *rest = argv
    if mode == "crowd":
        out = crowd(target, float(rest[0]))
    elif mode == "wave":
        out = wave(target)
    elif mode == "floor":
        out = floor(target, float(rest[0]))
    elif mode == "replay":
        out = replay(target, float(rest[0]), Path(rest[1]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
