"""The failover watcher: records on a `Timeline` what the servers see, stage by stage.

A failure or a planned failover is watched by a daemon thread that polls the
surviving nodes (a cluster) or the Sentinels (a replication group) until the
last expected stage is seen: suspected, agreed, replica promoted, first write
accepted. A watch always ends, within `WATCH_TIMEOUT`, or as soon as its
environment is stopped.

`Watches` knows nothing of how nodes are started: it reads them through
`topology.py`, and the provider hands it each timeline to follow.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import redis

from . import nodes as proc
from . import topology
from .provider import Environment, FailoverInProgress, Node, Timeline
from .replies import parse_cluster_nodes, probe_key

WATCH_TIMEOUT = 30.0  # a failover that has not finished by then is reported as timed out

# One poll of the servers; True once the timeline's last stage has been seen.
Poll = Callable[[Environment, Timeline, Node | None, str | None, bool], bool]


class Watches:
    """The latest watch of each environment; at most one runs per environment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, Timeline] = {}
        self._stopped: set[str] = set()

    def latest(self, env: Environment) -> Timeline | None:
        """The latest failure or failover watched on this environment, if any."""
        return self._latest.get(env.id)

    def running(self, env: Environment) -> Timeline | None:
        """The watch still running on this environment, if there is one."""
        current = self._latest.get(env.id)
        return current if current is not None and current.running else None

    def claim(self, env: Environment, timeline: Timeline) -> None:
        """Make `timeline` the environment's watch, unless another one still runs."""
        with self._lock:
            current = self.running(env)
            if current is not None:
                raise FailoverInProgress(
                    f"A failover is in progress on this environment (node {current.node}); "
                    "wait for it to finish (see the timeline) before the next action."
                )
            self._latest[env.id] = timeline

    def stopped(self, env: Environment) -> None:
        """The environment is gone: its watch ends at its next poll."""
        self._stopped.add(env.id)

    def start(
        self,
        env: Environment,
        timeline: Timeline,
        victim: Node | None,
        victim_id: str | None,
        *,
        manual: bool,
    ) -> None:
        """Follow the timeline in a thread (victim: the node that was lost or stepped down)."""
        poll = _poll_cluster if env.kind == "cluster" else _poll_group
        thread = threading.Thread(
            target=self._run,
            args=(poll, env, timeline, victim, victim_id, manual),
            name=f"lab-watch-{env.id}",
            daemon=True,
        )
        thread.start()

    def _run(
        self,
        poll: Poll,
        env: Environment,
        timeline: Timeline,
        victim: Node | None,
        victim_id: str | None,
        manual: bool,
    ) -> None:
        deadline = time.monotonic() + WATCH_TIMEOUT
        try:
            while time.monotonic() < deadline and env.id not in self._stopped:
                if poll(env, timeline, victim, victim_id, manual):
                    timeline.finish("done")
                    return
                time.sleep(proc.POLL)
            timeline.finish("timed out" if env.id not in self._stopped else "stopped")
        except Exception:  # a watch must always end, whatever a server said
            timeline.finish("error")
            raise


def _write_accepted(env: Environment, node: Node, slots: list[tuple[int, int]] | None) -> bool:
    key = probe_key(slots) if slots else "cachelab:probe"
    try:
        with topology.client(env, node) as client:
            client.set(key, "1", px=1000)
            client.delete(key)
    except redis.RedisError:
        return False
    return True


def _poll_cluster(
    env: Environment, timeline: Timeline, victim: Node | None, victim_id: str | None, manual: bool
) -> bool:
    """One poll of the survivors; True once the last stage has been seen."""
    shard = timeline.shard
    promoted = None
    for peer in env.nodes:
        if peer is victim or not topology.running(peer):
            continue
        try:
            with topology.client(env, peer, timeout=0.5) as client:
                lines = parse_cluster_nodes(client.execute_command("CLUSTER", "NODES"))
        except redis.RedisError:
            continue
        for line in lines:
            if victim_id and line.id == victim_id:
                if line.health == "suspected":
                    timeline.mark("suspected")
                elif line.health == "failed":
                    timeline.mark("suspected")  # seen agreed before suspected: same poll
                    timeline.mark("agreed")
            # A failure promotes any survivor of the shard; a planned failover, the replica.
            eligible = peer.name == timeline.node if manual else peer.shard == shard
            if "myself" in line.flags and "master" in line.flags and eligible and line.slots:
                promoted = (peer, line.slots)
    if "agreed" not in timeline.seen and not manual and "agreed" in timeline.stages:
        return False
    if timeline.stages[-1] == "agreed":
        return True
    if promoted is None:
        return False
    timeline.mark("replica promoted")
    timeline.new_primary = promoted[0].name
    if _write_accepted(env, promoted[0], promoted[1]):
        timeline.mark("first write accepted")
        return True
    return False


def _poll_group(
    env: Environment, timeline: Timeline, victim: Node | None, victim_id: str | None, manual: bool
) -> bool:
    """One poll of the Sentinels; True once the last stage has been seen."""
    views = topology.sentinel_views(env)
    if victim is not None and not manual:
        for master, replicas in views:
            states = [master, *replicas]
            state = next((x for x in states if int(x["port"]) == victim.port), {})
            if state.get("is_sdown"):
                timeline.mark("suspected")
            if state.get("is_odown"):
                timeline.mark("agreed")
    if timeline.stages[-1] == "suspected":
        return "suspected" in timeline.seen
    # Promoted once a majority of Sentinels name another node, and it says it is primary.
    port = topology.agreed_primary_port(views)
    new = next((n for n in env.nodes if n.port == port), None)
    if new is None or new is victim or topology.role(env, new) != "master":
        return False
    timeline.mark("replica promoted")
    timeline.new_primary = new.name
    if _write_accepted(env, new, None):
        timeline.mark("first write accepted")
        return True
    return False
