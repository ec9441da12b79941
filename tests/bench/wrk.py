"""Drive one endpoint with wrk and read back what it measured.

wrk is C on epoll: it spends a small fraction of the CPU the server spends,
which is what lets a 2-core machine measure a Python server honestly. Each
measurement replays a list of prepared requests (replay.lua) and reports one
`BENCH key=value ...` line, parsed by `parse`. The CPU time wrk used comes from
the kernel (wait4's rusage); the server's from /proc, so the report can show
the generator was not the bottleneck.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("replay.lua")
THREADS = 2
CONNECTIONS = 32
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Request:
    """One HTTP request a learner's browser would send."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def raw(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body or self.method == "POST":
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass(frozen=True)
class WrkResult:
    """wrk's figures for one measurement (latencies in milliseconds)."""

    requests: int
    seconds: float
    p50: float
    p95: float
    p99: float
    errors: int  # responses with a status of 400 or more
    socket_errors: int  # connect, read, write errors and timeouts
    repeats: int  # requests sent again after the pool ran out
    pool: int
    cpu_seconds: float = 0.0  # wrk's own user + system time

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def pool_exhausted(self) -> bool:
        """A pool of one-use requests (quiz answers) ran out and was sent again."""
        return self.repeats > 0


_FIELD = re.compile(r"(\w+)=(\d+)")


def parse(output: str) -> WrkResult:
    """The figures in wrk's output, from the line replay.lua's done() writes."""
    line = next((ln for ln in output.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise ValueError(f"no BENCH line in wrk's output:\n{output}")
    f = {key: int(value) for key, value in _FIELD.findall(line)}
    return WrkResult(
        requests=f["requests"],
        seconds=f["duration_us"] / 1e6,
        p50=f["p50_us"] / 1000,
        p95=f["p95_us"] / 1000,
        p99=f["p99_us"] / 1000,
        errors=f["status_errors"],
        socket_errors=f["connect"] + f["read"] + f["write"] + f["timeout"],
        repeats=f["repeats"],
        pool=f["pool"],
    )


def write_requests(path: Path, requests: list[Request], host: str) -> None:
    """The file replay.lua reads: records of `<length>\\n<raw request>`."""
    with path.open("wb") as out:
        for request in requests:
            raw = request.raw(host)
            out.write(b"%d\n" % len(raw) + raw)


def available() -> bool:
    return shutil.which("wrk") is not None


def run(url: str, requests_file: Path, seconds: float) -> WrkResult:
    """Run wrk for `seconds` against `url` replaying `requests_file`."""
    command = [
        "wrk", "--threads", str(THREADS), "--connections", str(CONNECTIONS),
        "--duration", f"{max(1, round(seconds))}s", "--timeout", "10s", "--latency",
        "--script", str(SCRIPT), url, "--", str(requests_file), str(THREADS),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    # wait4 rather than wait(): the kernel's account of the CPU wrk used.
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"wrk exited with {process.returncode}:\n{output}")
    result = parse(output)
    return _with_cpu(result, usage.ru_utime + usage.ru_stime)


def _with_cpu(result: WrkResult, cpu: float) -> WrkResult:
    return WrkResult(**{**result.__dict__, "cpu_seconds": cpu})


def process_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and all their descendants, now."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        # The command name (field 2) may hold spaces; fields after it don't.
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        # Reaped children (a restarted worker) count in cutime and cstime.
        times[pid] = sum(int(fields[i]) for i in (11, 12, 13, 14)) / _TICKS
    wanted = set(pids)
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in wanted} - wanted
        grew = bool(children)
        wanted |= children
    return sum(times.get(pid, 0.0) for pid in wanted)
