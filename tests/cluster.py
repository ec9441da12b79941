"""A local Redis Cluster for tests: several shards on loopback, as ElastiCache's
"cluster mode enabled" spreads keys over shards by hash slot.

Built from the binary config.embedded finds (redis-server or valkey-server),
without redis-cli: slots are assigned and nodes introduced with plain cluster
commands, then we poll until every node reports the cluster healthy. Each node
keeps its identity in a nodes-<port>.conf under the caller's folder, so a
stopped node can be restarted and rejoin with its slots.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from config.embedded import EmbeddedServer, free_port, start_server

SLOTS = 16384


@dataclass
class Shard:
    primary: EmbeddedServer
    replicas: list[EmbeddedServer]
    first_slot: int
    last_slot: int

    @property
    def servers(self) -> list[EmbeddedServer]:
        return [self.primary, *self.replicas]

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


@dataclass
class LocalCluster:
    shards: list[Shard]

    @property
    def url(self) -> str:
        """What REDIS_URL names: one node, as a configuration endpoint would."""
        return self.shards[0].primary.url

    @property
    def servers(self) -> list[EmbeddedServer]:
        return [server for shard in self.shards for server in shard.servers]

    def node(self, server: EmbeddedServer) -> redis.Redis:
        """A plain client on one node (not cluster-aware), for checks."""
        return redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=5)

    def keys_by_shard(self, pattern: str = "*") -> list[list[bytes]]:
        """Each shard's keys matching pattern, read from its primary."""
        found = []
        for shard in self.shards:
            with self.node(shard.primary) as client:
                found.append(list(client.scan_iter(match=pattern, count=1000)))
        return found

    def flush(self) -> None:
        for shard in self.shards:
            with self.node(shard.primary) as client:
                client.flushdb()

    def wait_until_healthy(self, timeout: float = 30.0) -> None:
        """Poll every node until all agree the cluster is ok and replicas are in sync."""
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster was not healthy within {timeout}s")
            time.sleep(0.05)

    def _healthy(self) -> bool:
        try:
            for shard in self.shards:
                for server in shard.servers:
                    with self.node(server) as client:
                        if client.execute_command("CLUSTER INFO")["cluster_state"] != "ok":
                            return False
                        nodes = client.execute_command("CLUSTER NODES").values()
                        if len(nodes) < len(self.servers) or not all(
                            n["connected"] or "myself" in n["flags"] for n in nodes
                        ):
                            return False
                for replica in shard.replicas:
                    with self.node(replica) as client:
                        if client.info("replication").get("master_link_status") != "up":
                            return False
        except redis.RedisError:
            return False
        return True

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def start_cluster(
    workdir: Path, shards: int = 3, replicas: int = 0, node_timeout_ms: int = 1000
) -> LocalCluster:
    """Start `shards` primaries (each with `replicas` replicas) and join them.

    A short node timeout makes the cluster notice a dead node within about a
    second, so outage tests do not wait long. The caller stops the cluster;
    should it not, every node still dies with this process (config.embedded).
    """
    extra = [
        "--cluster-enabled", "yes",
        "--cluster-node-timeout", str(node_timeout_ms),
        # Replicas sync at once instead of waiting for more to join (5 s by default).
        "--repl-diskless-sync-delay", "0",
    ]  # fmt: skip

    def node() -> EmbeddedServer:
        port, bus = free_port(), free_port()
        conf = workdir / f"nodes-{port}.conf"
        # The bus port defaults to port + 10000, past 65535 for a high free port.
        args = [*extra, "--cluster-port", str(bus), "--cluster-config-file", str(conf)]
        return start_server(args, port=port)

    bounds = [SLOTS * i // shards for i in range(shards + 1)]
    cluster = LocalCluster(
        [
            Shard(node(), [node() for _ in range(replicas)], bounds[i], bounds[i + 1] - 1)
            for i in range(shards)
        ]
    )
    try:
        _join(cluster)
        cluster.wait_until_healthy()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _join(cluster: LocalCluster) -> None:
    first = cluster.node(cluster.shards[0].primary)
    with first:
        for shard in cluster.shards:
            with cluster.node(shard.primary) as client:
                client.execute_command("CLUSTER ADDSLOTSRANGE", shard.first_slot, shard.last_slot)
        for server in cluster.servers[1:]:
            bus = server.extra_args[server.extra_args.index("--cluster-port") + 1]
            first.execute_command("CLUSTER MEET", "127.0.0.1", server.port, bus)
    # A replica can only follow a primary it has heard of through gossip.
    for shard in cluster.shards:
        with cluster.node(shard.primary) as client:
            primary_id = client.execute_command("CLUSTER MYID").decode()
        for replica in shard.replicas:
            with cluster.node(replica) as client:
                _wait(lambda c=client, known=primary_id: _knows(c, known))
                client.execute_command("CLUSTER REPLICATE", primary_id)


def _knows(client: redis.Redis, node_id: str) -> bool:
    nodes = client.execute_command("CLUSTER NODES").values()
    return any(n["node_id"] == node_id for n in nodes)


def _wait(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("cluster nodes did not learn of each other in time")
        time.sleep(0.05)


def tls_server_binary() -> str:
    """Debian's redis-server (built with TLS), or the test is skipped (failed in CI)."""
    binary = shutil.which("redis-server")
    if binary is None or shutil.which("openssl") is None:
        message = "TLS tests need Debian's redis-server (built with TLS) and openssl"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    return binary


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for 127.0.0.1: (cert, key, CA bundle)."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=CacheLab test CA", "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext",
            "-out", "server.crt")  # fmt: skip
    return folder / "server.crt", folder / "server.key", folder / "ca.crt"


def start_tls_cluster(
    workdir: Path, binary: str, *, user: str, password: str
) -> tuple[LocalCluster, str, str]:
    """A one-shard cluster serving TLS (a private CA) to an ACL user, as
    ElastiCache with in-transit encryption and RBAC does.

    Returns the cluster, the app's rediss:// URL and the CA bundle's path. The
    node also listens in plain text, for the test's own checks (as `user`).
    """
    cert, key, ca = make_certificates(workdir)
    port, tls_port, bus = free_port(), free_port(), free_port()
    server = start_server(
        [
            "--cluster-enabled", "yes",
            "--cluster-port", str(bus),
            "--cluster-config-file", str(workdir / f"nodes-{port}.conf"),
            "--tls-port", str(tls_port),
            # The bus and the slot map speak TLS: clients are sent to TLS ports.
            "--tls-cluster", "yes",
            "--tls-cert-file", str(cert),
            "--tls-key-file", str(key),
            "--tls-ca-cert-file", str(ca),
            "--tls-auth-clients", "no",
        ],
        binary=binary,
        port=port,
    )  # fmt: skip
    cluster = LocalCluster([Shard(server, [], 0, SLOTS - 1)])
    try:
        with cluster.node(server) as client:
            client.execute_command("CLUSTER ADDSLOTSRANGE", 0, SLOTS - 1)
        cluster.wait_until_healthy()
        with cluster.node(server) as client:
            client.execute_command(
                "ACL", "SETUSER", user, "on", f">{password}", "~*", "&*", "+@all"
            )
            client.execute_command("ACL", "SETUSER", "default", "off")
    except BaseException:
        cluster.stop()
        raise
    return cluster, f"rediss://{user}:{password}@127.0.0.1:{tls_port}/0", str(ca)
