"""`make bench`: the hot paths under gunicorn, measured by wrk beside a bare Django floor.

Starts everything itself (embedded Redis servers unless REDIS_URL /
SANDBOX_REDIS_URL are set, a throwaway SQLite database unless DATABASE_URL is
set) and serves two apps with the command `make serve` runs: the site, and the
bare floor (tests/bench/bare/app.py: Django with no middleware and no database).

1. Throughput: wrk (C, epoll; 2 threads, 32 connections) drives each endpoint
   flat out, interleaved round-robin with the bare floor (BENCH_ROUNDS rounds,
   default 3; medians reported). Returning learners are made first through
   real requests (prepare.py) and wrk replays their cookies and CSRF tokens.
   Each row shows its ratio to the bare floor beside the target from issue 17.
2. The generator check: wrk's CPU beside the server's for every endpoint, and
   the bare floor driven by locust (Python) beside wrk's figure for it.
3. Behaviour, with locust: 500 learners reading 5–15 s between clicks, and a
   class of 200 pressing Start on one quiz within one second.

Without wrk on PATH, step 1 falls back to locust, with a warning: locust shares
the cores with the server and saturates first, which squeezes every ratio
towards 1. BENCH_SECONDS sets each measurement's length (default 15). Results
are printed and written to bench-results/latest.md.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from config.embedded import free_port, start_missing_servers, stop_all
from config.launch import prepare_site
from config.serve import gunicorn_command
from tests.bench import wrk
from tests.bench.prepare import (
    LAB,
    LAB_COMMANDS,
    QUIZ,
    SANDBOX_COMMANDS,
    TOPIC,
    Builder,
    Site,
    anonymous,
)
from tests.bench.report import Cpu, LoadResult, Row, cpu_table, latency_table, saturation_table
from tests.bench.wrk import Request, WrkResult

ROOT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WARM_UP = 1.0
BARE_SETTINGS = "tests.bench.bare.app"


@dataclass(frozen=True)
class Endpoint:
    """A row of the throughput table: what wrk sends, to which app, and the target."""

    name: str
    target: float | None  # least ratio to the bare floor (issue 17); None: no target
    build: Builder | None  # (site, one-use requests wanted) -> requests to replay
    app: str = "site"  # or "bare"
    one_use: bool = False  # each request can be sent once (an answer to a question)
    note: str = ""


ENDPOINTS = [
    Endpoint("bare floor", None, lambda site, n: anonymous("/"), app="bare"),
    Endpoint("/bench/floor (middleware only)", None, lambda site, n: anonymous("/bench/floor")),
    Endpoint("home, returning", 0.5, lambda site, n: site.get_as_learners("/")),
    Endpoint("home, first visit", 0.5, lambda site, n: anonymous("/")),
    Endpoint("topic, returning", 0.5, lambda site, n: site.get_as_learners(f"/topics/{TOPIC}/")),
    Endpoint("topic, first visit", 0.5, lambda site, n: anonymous(f"/topics/{TOPIC}/")),
    Endpoint(
        "sandbox command",
        0.4,
        lambda site, n: site.post_as_learners(
            "/sandbox/run", [{"command": c} for c in SANDBOX_COMMANDS], Accept="application/json"
        ),
    ),
    # A command that passes no step, so every learner stays on the lab's first one.
    Endpoint(
        "lab command",
        0.3,
        lambda site, n: site.post_as_learners(
            f"/labs/{LAB}/run", [{"command": c} for c in LAB_COMMANDS], Accept="application/json"
        ),
    ),
    Endpoint("quiz list", None, lambda site, n: site.get_as_learners("/quizzes/")),
    Endpoint("quiz question", 0.25, lambda site, n: site.question_pages()),
    Endpoint("quiz answer", 0.15, lambda site, n: site.answer_pool(n), one_use=True),
    Endpoint("progress page", 0.2, lambda site, n: site.get_as_learners("/progress/")),
]
FLOOR = ENDPOINTS[0].name
# A one-use pool is sized from the quiz question page's rate in the same round:
# an answer does all a question page does and writes too, so it is slower.
POOL_FROM = "quiz question"
POOL_MARGIN = 1.5


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen
    log: Path
    extra_pids: list[int]

    def cpu(self) -> float:
        return wrk.process_cpu_seconds([self.process.pid, *self.extra_pids])


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="cachelab-bench-"))
    env = {
        **os.environ,
        "DEBUG": "0",
        "HTTPS": "0",
        "BENCH_FLOOR": "1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SANDBOX_BURST": "1000000",  # measure the engine, not the per-learner limiter's refusals
        "SANDBOX_RATE": "1000000",
    }
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    redis_servers = start_missing_servers(env)
    servers: list[Server] = []
    try:
        prepare_site(env, collectstatic=True)
        redis_pids = [s.process.pid for s in redis_servers]
        site_server = _serve("site", env, workdir, redis_pids)
        servers.append(site_server)
        bare_server = _serve("bare", {**env, "DJANGO_SETTINGS_MODULE": BARE_SETTINGS}, workdir, [])
        servers.append(bare_server)
        _wait_until_up(f"{site_server.url}/healthz", site_server)
        _wait_until_up(f"{bare_server.url}/", bare_server)
        sizes = _check_floor_is_bare(bare_server.url, site_server.url)
        command = gunicorn_command(env, "127.0.0.1:PORT", "/dev/null")
        workers = command[command.index("--workers") + 1]
        # BENCH_GENERATOR=locust forces the fallback (to see how much it squeezes).
        wanted = os.environ.get("BENCH_GENERATOR", "wrk")
        generator = "wrk" if wanted == "wrk" and wrk.available() else "locust"
        print(
            f"gunicorn: {workers} workers each for the site and the bare floor; generator: "
            f"{generator}; {ROUNDS} rounds of {SECONDS:g} s per endpoint",
            flush=True,
        )
        if generator == "locust":
            print(_FALLBACK_WARNING, file=sys.stderr, flush=True)
        apps = {"site": site_server, "bare": bare_server}
        rows, cpu = throughput(Site(site_server.url), apps, generator, workdir)
        python_floor = _locust(["floor", bare_server.url, str(SECONDS)])
        crowd = [LoadResult(**r) for r in _locust(["crowd", site_server.url, str(SECONDS)])]
        wave = _locust(["wave", site_server.url])
        report = format_report(
            rows=rows,
            cpu=cpu,
            python_floor=python_floor,
            crowd=crowd,
            wave=[LoadResult(**r) for r in wave["results"]],
            wave_seconds=wave["seconds"],
            header=_header(workers, generator, sizes),
            generator=generator,
        )
        print(report)
        out = ROOT / "bench-results"
        out.mkdir(exist_ok=True)
        (out / "latest.md").write_text(report)
        return 0
    finally:
        for server in servers:
            server.process.terminate()
            server.process.wait(timeout=15)
        stop_all(redis_servers)
        shutil.rmtree(workdir, ignore_errors=True)


_FALLBACK_WARNING = (
    "make bench: WARNING: wrk is not on PATH (Debian: apt-get install wrk); measuring with "
    "locust instead. locust is Python on the same cores as the server and saturates first, "
    "so every ratio below is squeezed towards 1. Do not compare these with wrk's."
)


def throughput(
    site: Site, apps: dict[str, Server], generator: str, workdir: Path
) -> tuple[list[Row], list[Cpu]]:
    """Every endpoint, round-robin, ROUNDS times (after an unrecorded warm-up pass)."""
    results: dict[str, list[WrkResult]] = defaultdict(list)
    cpu: list[Cpu] = []
    for round_number in range(ROUNDS + 1):
        warm = round_number == 0
        seconds = WARM_UP if warm else SECONDS
        latest: dict[str, float] = {}
        for endpoint in ENDPOINTS:
            if endpoint.build is None:
                continue
            wanted = int(latest.get(POOL_FROM, 200) * seconds * POOL_MARGIN) + 100
            requests = endpoint.build(site, wanted if endpoint.one_use else 0)
            server = apps[endpoint.app]
            before = server.cpu()
            started = time.monotonic()
            result = _measure(generator, server.url, requests, seconds, workdir)
            wall = time.monotonic() - started
            latest[endpoint.name] = result.rps
            if warm:
                continue
            results[endpoint.name].append(result)
            cpu.append(Cpu(endpoint.name, wall, result.cpu_seconds, server.cpu() - before))
            ran_out = endpoint.one_use and result.pool_exhausted
            exhausted = " (pool ran out: repeats counted as errors)" if ran_out else ""
            print(
                f"round {round_number}/{ROUNDS} {endpoint.name}: {result.rps:.0f} req/s, "
                f"p95 {result.p95:.1f} ms, {result.errors} errors{exhausted}",
                flush=True,
            )
    return [_row(endpoint, results[endpoint.name]) for endpoint in ENDPOINTS], cpu


def _row(endpoint: Endpoint, results: list[WrkResult]) -> Row:
    return Row(
        name=endpoint.name,
        target=endpoint.target,
        rps=[r.rps for r in results],
        p50=[r.p50 for r in results],
        p95=[r.p95 for r in results],
        p99=[r.p99 for r in results],
        errors=sum(r.errors for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        note=endpoint.note,
    )


def _measure(
    generator: str, url: str, requests: list[Request], seconds: float, workdir: Path
) -> WrkResult:
    path = workdir / "requests"
    host = url.removeprefix("http://")
    if generator == "wrk":
        wrk.write_requests(path, requests, host)
        return wrk.run(url, path, seconds)
    specs = [
        {"method": r.method, "path": r.path, "headers": list(r.headers), "body": r.body.decode()}
        for r in requests
    ]
    path.write_text(json.dumps(specs))
    before = os.times()
    out = _locust(["replay", url, str(seconds), str(path)])
    after = os.times()
    return WrkResult(
        requests=out["requests"],
        seconds=out["requests"] / out["rps"] if out["rps"] else seconds,
        p50=out["p50"],
        p95=out["p95"],
        p99=out["p99"],
        errors=out["errors"],
        socket_errors=0,
        repeats=0,
        pool=len(requests),
        cpu_seconds=(after.children_user + after.children_system)
        - (before.children_user + before.children_system),
    )


def _locust(args: list[str]):
    """Run a locust part (crowd.py) in its own process; its JSON result."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.crowd", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _serve(name: str, env: dict[str, str], workdir: Path, extra_pids: list[int]) -> Server:
    """One app under exactly the command `make serve` runs, on a loopback port."""
    port = free_port()
    log = workdir / f"gunicorn-{name}.log"
    command = gunicorn_command(env, f"127.0.0.1:{port}", "/dev/null")
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=out)
    return Server(name, f"http://127.0.0.1:{port}", process, log, extra_pids)


def _wait_until_up(url: str, server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up; its log:\n{server.log.read_text()[-3000:]}")


def _check_floor_is_bare(bare_url: str, site_url: str) -> dict[str, int]:
    """Refuse to measure against a floor that is not bare; the two page sizes."""
    with urllib.request.urlopen(bare_url + "/") as response:
        bare = response.read()
        headers = response.headers
    if headers.get("Set-Cookie") or headers.get("Content-Security-Policy"):
        raise RuntimeError("the bare floor answered with the site's middleware headers")
    with urllib.request.urlopen(f"{site_url}/topics/{TOPIC}/") as response:
        topic = response.read()
    return {"bare": len(bare), "topic": len(topic)}


def _header(workers: str, generator: str, sizes: dict[str, int]) -> list[str]:
    database = os.environ.get("DATABASE_URL", "sqlite").split(":", 1)[0]
    return [
        f"CacheLab benchmark · {socket.gethostname()} · {os.cpu_count()} cores · "
        f"gunicorn {workers} asyncio workers · {database} · {generator} "
        f"({wrk.THREADS} threads, {wrk.CONNECTIONS} connections) · "
        f"{ROUNDS} rounds × {SECONDS:g} s, medians",
        "",
        f"Bare floor: tests/bench/bare/app.py under the same gunicorn command, no middleware, "
        f"no database, a {sizes['bare'] / 1000:.0f} kB page "
        f"(a first visit's topic page: {sizes['topic'] / 1000:.0f} kB).",
    ]


def format_report(
    *,
    rows: list[Row],
    cpu: list[Cpu],
    python_floor: dict,
    crowd: list[LoadResult],
    wave: list[LoadResult],
    wave_seconds: float,
    header: list[str],
    generator: str,
) -> str:
    floor = next(row for row in rows if row.name == FLOOR)
    wrk_floor = floor.median_rps
    lines = [*header, ""]
    if generator != "wrk":
        lines += [f"**{_FALLBACK_WARNING}**", ""]
    lines += [
        "Throughput, interleaved with the bare floor (medians of the rounds):",
        "",
        *saturation_table(rows, floor),
        "",
        "Generator check: wrk's CPU beside the server's (gunicorn and its Redis servers), "
        "as % of one core; the machine has "
        f"{100 * (os.cpu_count() or 1)} %:",
        "",
        *cpu_table(cpu),
        "",
        f"The bare floor under locust (Python, {python_floor['name']}, 50 users flat out): "
        f"{python_floor['rps']:.0f} req/s, locust using "
        f"{100 * python_floor['cpu_seconds'] / SECONDS:.0f} % of a core; under wrk: "
        f"{wrk_floor:.0f} req/s ({wrk_floor / python_floor['rps']:.1f}× locust's)."
        if python_floor["rps"]
        else "The bare floor under locust: no requests completed.",
        "",
        "500 learners, 5–15 s between clicks (locust):",
        "",
        *latency_table(crowd, 100),
        "",
        f"Class start wave: 200 learners press Start on the {QUIZ} quiz within one second "
        f"(all through in {wave_seconds:.1f} s):",
        "",
        *latency_table(wave, 1000),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
