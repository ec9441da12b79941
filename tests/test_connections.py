"""ElastiCache-style connections, against servers these tests start themselves:
TLS with a private CA, an RBAC user confined by the server, a reader endpoint,
and two app instances sharing one app Redis and one database."""

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import redis
from django.core.cache import caches

from config.embedded import SANDBOX_SERVER_ARGS, free_port, start_server
from config.launch import prepare_site
from config.redis_config import redis_options
from learn.redis_clients import reset_clients, sandbox
from learn.sandbox.namespace import Namespace
from learn.sandbox.runner import SandboxUnavailable
from tests.cluster import make_certificates, tls_server_binary
from tests.factories import learner_session
from tests.test_embedded import port_is_closed, wait_for

pytestmark = pytest.mark.redis
ROOT = Path(__file__).resolve().parent.parent
LEARNER = Namespace("conn0000000000000000000a")


def point_app_redis(settings, url: str, ca: str = "", reader: str = "") -> None:
    settings.REDIS_URL, settings.REDIS_CA_CERT = url, ca
    settings.REDIS_CLUSTER = False  # a single server, even when the run's is a cluster
    # New dicts, never the originals: the settings fixture restores CACHES by
    # reference, so mutating them would leak this server into later tests.
    settings.CACHES = {
        alias: {
            **config,
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": [url, reader] if reader and alias == "default" else url,
            "OPTIONS": redis_options(url, 0.5, ca),
        }
        for alias, config in settings.CACHES.items()
    }
    reset_clients()


@pytest.fixture
def tls_server(tmp_path):
    """Redis OSS with TLS on one port (and plain text on another, for the checks)."""
    binary = tls_server_binary()

    cert, key, ca = make_certificates(tmp_path)
    tls_port = free_port()
    server = start_server(
        [
            "--tls-port", str(tls_port),
            "--tls-cert-file", str(cert),
            "--tls-key-file", str(key),
            "--tls-ca-cert-file", str(ca),
            "--tls-auth-clients", "no",
            *SANDBOX_SERVER_ARGS,
        ],
        binary=binary,
    )  # fmt: skip
    yield server, f"rediss://127.0.0.1:{tls_port}/0", str(ca)
    server.stop()
    reset_clients()


@pytest.mark.django_db
def test_sessions_and_the_sandbox_work_over_tls(client, settings, tls_server):
    server, url, ca = tls_server
    point_app_redis(settings, url, ca)
    settings.SANDBOX_REDIS_URL, settings.SANDBOX_REDIS_CA_CERT = url, ca
    reset_clients()

    learner_session(client)  # a learner's session, stored through the app Redis
    reply = sandbox().run(LEARNER, "SET k over-tls").reply

    plain = redis.Redis.from_url(server.url)
    assert list(plain.scan_iter(match="cachelab:session:*"))
    assert reply == "OK" and plain.get(LEARNER.key(b"k")) == b"over-tls"


def test_tls_refuses_a_server_whose_certificate_is_not_trusted(settings, tls_server):
    _, url, _ = tls_server
    settings.SANDBOX_REDIS_URL, settings.SANDBOX_REDIS_CA_CERT = url, ""
    reset_clients()

    with pytest.raises(SandboxUnavailable):
        sandbox().run(LEARNER, "PING")


@pytest.fixture
def rbac_users(sandbox_redis):
    """Users as an ElastiCache RBAC user group would hold them (access strings)."""
    # Start from a server where the app has created no user of its own.
    sandbox_redis.execute_command("ACL", "DELUSER", "cachelab-sandbox")
    sandbox_redis.execute_command(
        "ACL", "SETUSER", "rbac-learner", "on", ">learner-pass", "~sbx:*", "&sbx:*",
        "+@all", "-@admin", "-@dangerous", "-@scripting",
    )  # fmt: skip
    sandbox_redis.execute_command(
        "ACL", "SETUSER", "rbac-admin", "on", ">admin-pass", "~*", "&*", "+@all"
    )
    yield
    sandbox_redis.execute_command("ACL", "DELUSER", "rbac-learner", "rbac-admin")
    reset_clients()


def with_user(url: str, user: str, password: str) -> str:
    # In place of the URL's own credentials (the embedded server's password).
    return re.sub(r"^redis://([^@/]*@)?", f"redis://{user}:{password}@", url)


def test_a_confined_rbac_user_serves_the_sandbox(settings, rbac_users, sandbox_redis):
    settings.SANDBOX_REDIS_URL = with_user(
        settings.SANDBOX_REDIS_URL, "rbac-learner", "learner-pass"
    )
    settings.SANDBOX_MANAGE_ACL = False
    reset_clients()

    reply = sandbox().run(LEARNER, "RPUSH jobs a b").reply

    assert reply == "(integer) 2"
    assert sandbox_redis.llen(LEARNER.key(b"jobs")) == 2
    # The app never created its own user: the managed service's user did the work.
    assert b"cachelab-sandbox" not in sandbox_redis.execute_command("ACL", "USERS")


def test_an_rbac_user_that_can_reach_other_keys_is_refused(settings, rbac_users, sandbox_redis):
    settings.SANDBOX_REDIS_URL = with_user(settings.SANDBOX_REDIS_URL, "rbac-admin", "admin-pass")
    settings.SANDBOX_MANAGE_ACL = False
    reset_clients()

    with pytest.raises(SandboxUnavailable, match="outside sbx"):
        sandbox().run(LEARNER, "SET k 1")
    assert not sandbox_redis.exists(LEARNER.key(b"k"), "cachelab:isolation-probe")


def test_cache_reads_go_to_the_reader_endpoint(settings):
    primary = start_server()
    replica = start_server(["--replicaof", "127.0.0.1", str(primary.port)])
    try:
        point_app_redis(settings, primary.url, reader=replica.url)
        cache = caches["default"]
        cache.set("greeting", "hello")

        # Replication is asynchronous: poll (bounded) until the replica has it.
        wait_for(lambda: cache.get("greeting") == "hello", timeout=10)
        primary.stop()

        assert cache.get("greeting") == "hello"  # answered by the replica alone
    finally:
        replica.stop()
        primary.stop()
        reset_clients()


def test_two_app_instances_serve_the_same_learner(tmp_path, settings):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    prepare_site(env)
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            wait_for(lambda port=port: not port_is_closed(port), timeout=30)
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

        def post(port: int, path: str, data: dict) -> dict:
            token = next(c.value for c in jar if c.name == "csrftoken")
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}",
                data=urllib.parse.urlencode(data).encode(),
                headers={"X-CSRFToken": token, "Accept": "application/json"},
            )
            with browser.open(request, timeout=10) as response:
                return json.loads(response.read())

        browser.open(f"http://127.0.0.1:{ports[0]}/sandbox/", timeout=10).read()
        post(ports[0], "/sandbox/run", {"command": "SET seen-on a"})
        on_b = post(ports[1], "/sandbox/run", {"command": "GET seen-on"})
        history = browser.open(f"http://127.0.0.1:{ports[1]}/sandbox/", timeout=10).read().decode()

        assert on_b["reply"] == '"a"'
        assert "SET seen-on a" in history
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    assert all(port_is_closed(port) for port in ports)
