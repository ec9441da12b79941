"""Server processes for lab environments: ports, config files, launching, killing.

Every node is the binary config.embedded picks (valkey-server / redis-server
on PATH, else the bundled Valkey), started with a config file in its
environment's folder (0600: it holds the passwords, which therefore never
appear in a process list). Processes are launched from one long-lived
thread per site process and carry PR_SET_PDEATHSIG, so they die with the
site. Linux sends that signal when the *thread* that forked the child ends,
not the process; launching from request or test threads would kill a node
as soon as its thread finished.

Liveness and identity come from /proc: a pid counts as the node only while
its start time matches the one recorded at launch, so a reused pid is never
killed by mistake.
"""

from __future__ import annotations

import contextlib
import os
import queue
import random
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path

from config.embedded import die_with_parent

from .settings import BUS_OFFSET

POLL = 0.02  # seconds between polls of a process or server that is changing state


# --- /proc ----------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name sits in parentheses and may contain spaces: split after it.
    return text[text.rindex(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot), or None if there is none."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def alive(pid: int | None, ticks: int | None = None) -> bool:
    """True while the process runs (a zombie has died) and, given ticks, is the same one."""
    if pid is None:
        return False
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return ticks is None or int(fields[19]) == ticks


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def processes_under(folder: str | Path) -> list[int]:
    """Pids whose working directory lies under folder (nodes run in their env folder)."""
    root = str(Path(folder).resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if (cwd == root or cwd.startswith(root + os.sep)) and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


# --- launching ------------------------------------------------------------------------


class _Launcher:
    """One thread that forks every node, so PR_SET_PDEATHSIG ties nodes to the site."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[list[str], str, Future]] = queue.Queue()
        self._owner_pid: int | None = None
        self.children: dict[int, subprocess.Popen] = {}

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._owner_pid != os.getpid():  # first use, or we are a forked child
                self._queue = queue.Queue()
                self.children = {}
                threading.Thread(target=self._serve, name="lab-launcher", daemon=True).start()
                self._owner_pid = os.getpid()

    def _serve(self) -> None:
        while True:
            args, cwd, future = self._queue.get()
            try:
                process = subprocess.Popen(
                    args,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    preexec_fn=die_with_parent,
                )
            except BaseException as error:  # handed to the caller, never lost here
                future.set_exception(error)
            else:
                self.children[process.pid] = process
                future.set_result(process)

    def launch(self, args: list[str], cwd: str) -> subprocess.Popen:
        self._ensure_thread()
        future: Future[subprocess.Popen] = Future()
        self._queue.put((args, cwd, future))
        return future.result(timeout=30)

    def reap(self, pid: int) -> None:
        """Collect a child we started, so it leaves no zombie behind."""
        process = self.children.pop(pid, None)
        if process is not None:
            process.wait()


launcher = _Launcher()


def kill(pids: Iterable[tuple[int | None, int | None]], timeout: float = 10.0) -> None:
    """SIGKILL each (pid, start ticks) that is still that process, and wait until gone."""
    targets = [(pid, ticks) for pid, ticks in pids if pid and alive(pid, ticks)]
    for pid, _ticks in targets:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid, _ticks in targets:
        launcher.reap(pid)
    wait_until(
        lambda: not any(alive(pid, ticks) for pid, ticks in targets),
        timeout,
        "a node process outlived SIGKILL",
    )


def wait_until(predicate: Callable[[], bool], timeout: float, failure: str) -> None:
    """Poll predicate until true; raise TimeoutError(failure) at the deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(failure)
        time.sleep(POLL)


# --- ports ----------------------------------------------------------------------------


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the server binds: a port whose old connections linger in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class PortAllocator:
    """Hands out ports from the lab range that are free now and not promised to another node.

    Another process may still take a port between our check and the server's
    bind; the server then exits at once and the caller retries on new ports.
    """

    def __init__(self, port_range: tuple[int, int]) -> None:
        self.low, self.high = port_range
        self._taken: set[int] = set()
        self._lock = threading.Lock()

    def take(self, *, bus: bool) -> tuple[int, int | None]:
        with self._lock:
            candidates = list(range(self.low, self.high + 1))
            random.shuffle(candidates)  # two site processes rarely race for the same port
            for port in candidates:
                if port in self._taken or not _bindable(port):
                    continue
                if bus and not _bindable(port + BUS_OFFSET):
                    continue
                self._taken.add(port)
                return port, (port + BUS_OFFSET if bus else None)
        raise OSError(f"no free port left in the lab range {self.low}-{self.high}")

    def release(self, port: int) -> None:
        with self._lock:
            self._taken.discard(port)


# --- configuration --------------------------------------------------------------------

# What the learner's own user (`default`) may never run, even if the REPL's
# policy had a bug: everything that makes a node reach an address (REPLICAOF,
# MIGRATE, FAILOVER TO, CLUSTER MEET), pull a replication stream, change the
# server's configuration or its users, stop it, or watch other clients.
# Lab actions that need some of these (adding a shard, an allowed CONFIG SET,
# ACL SETUSER on a learner's user, a resharding MIGRATE) are validated by the
# site and run on the control user's connection.
LEARNER_DENIED = (
    "debug", "module", "shutdown", "monitor", "sync", "psync", "replconf",
    "replicaof", "slaveof", "failover", "migrate", "save", "bgrewriteaof",
    "config|set", "config|rewrite", "config|resetstat",
    "acl|setuser", "acl|deluser", "acl|save", "acl|load",
    "cluster|meet", "cluster|forget", "cluster|reset",
    "client|kill", "client|pause",
)  # fmt: skip


def node_config(
    *,
    port: int,
    folder: str,
    name: str,
    control_user: str,
    control_password: str,
    learner_password: str,
    maxmemory: str,
    maxmemory_policy: str,
    bus_port: int | None = None,
    node_timeout_ms: int = 1000,
    replica_of: str | None = None,
) -> str:
    denied = " ".join(f"-{command}" for command in LEARNER_DENIED)
    lines = [
        f"port {port}",
        "bind 127.0.0.1",
        "daemonize no",
        f"dir {folder}",
        # No persistence but snapshots a learner takes, kept in the env folder.
        'save ""',
        "appendonly no",
        f"dbfilename dump-{name}.rdb",
        f"logfile {folder}/{name}.log",
        f"maxmemory {maxmemory}",
        f"maxmemory-policy {maxmemory_policy}",
        "maxclients 64",
        # Bounds on what one command can make a node hold or do.
        "proto-max-bulk-len 1mb",
        "client-query-buffer-limit 1mb",
        "busy-reply-threshold 1000",
        # Refused by the server itself, whatever the site's policy lets through.
        "enable-protected-configs no",
        "enable-debug-command no",
        "enable-module-command no",
        # Replicas sync at once, straight from memory.
        "repl-diskless-sync yes",
        "repl-diskless-sync-delay 0",
        f"masteruser {control_user}",
        f"masterauth {control_password}",
        f"user {control_user} on >{control_password} ~* &* +@all",
        f"user default on >{learner_password} ~* &* +@all {denied}",
    ]
    if bus_port is not None:
        lines += [
            "cluster-enabled yes",
            f"cluster-config-file {folder}/nodes-{name}.conf",
            f"cluster-port {bus_port}",
            f"cluster-node-timeout {node_timeout_ms}",
        ]
    if replica_of:
        host, replica_port = replica_of.rsplit(":", 1)
        lines.append(f"replicaof {host} {replica_port}")
    return "\n".join(lines) + "\n"


def sentinel_config(
    *,
    port: int,
    folder: str,
    name: str,
    master_name: str,
    master_address: str,
    control_user: str,
    control_password: str,
    down_after_ms: int,
) -> str:
    host, master_port = master_address.rsplit(":", 1)
    return (
        "\n".join(
            [
                f"port {port}",
                "bind 127.0.0.1",
                "daemonize no",
                f"dir {folder}",
                f"logfile {folder}/{name}.log",
                # Clients and the other sentinels authenticate with the control password.
                f"requirepass {control_password}",
                f"sentinel sentinel-pass {control_password}",
                "sentinel resolve-hostnames no",
                "sentinel deny-scripts-reconfig yes",
                f"sentinel monitor {master_name} {host} {master_port} 2",
                f"sentinel auth-user {master_name} {control_user}",
                f"sentinel auth-pass {master_name} {control_password}",
                f"sentinel down-after-milliseconds {master_name} {down_after_ms}",
                f"sentinel failover-timeout {master_name} 10000",
                f"sentinel parallel-syncs {master_name} 1",
            ]
        )
        + "\n"
    )


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds passwords)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
