"""Who gets an environment, and when it goes.

At most one environment per learner and `max_environments` on the site;
when full, the learner gets their place in the queue and an estimate (data,
never an error page). An environment goes when idle for `idle_timeout` or
older than `max_lifetime`; `sweep()` (run it every minute or so) stops those,
and frees the places of environments whose site process died.

Plain Python: give it a provider, a registry on the app Redis and settings.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from . import nodes as proc
from .provider import KINDS, Environment, Kind, Provider, UnknownKind, new_env_id
from .registry import Admitted, Existing, Registry
from .settings import LabSettings


@dataclass
class Opened:
    """What asking for an environment came to."""

    status: str  # "started", "existing", "starting", "queued"
    message: str
    env: Environment | None = None
    place: int | None = None
    waiting: int | None = None
    estimate_seconds: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("env")
        data["env_id"] = self.env.id if self.env else None
        return data


def this_host() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{proc.start_ticks(pid)}"


def _minutes(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return "about a minute" if minutes == 1 else f"about {minutes} minutes"


class Lifecycle:
    def __init__(
        self,
        provider: Provider,
        registry: Registry,
        settings: LabSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.provider = provider
        self.registry = registry
        self.settings = settings
        self.clock = clock
        self.host = this_host()

    def open(self, owner: str, kind: Kind) -> Opened:
        """Give the learner their environment: the one they have, a new one, or a place."""
        if kind not in KINDS:
            raise UnknownKind(
                f"There is no environment kind {kind!r}: choose one of {', '.join(KINDS)}."
            )
        now = self.clock()
        outcome = self.registry.admit(
            owner=owner,
            kind=kind,
            env_id=new_env_id(),
            now=now,
            cap=self.settings.max_environments,
            queue_ttl=self.settings.queue_ttl,
            host=self.host,
        )
        if isinstance(outcome, Existing):
            return self._existing(outcome.env_id, kind, now)
        if not isinstance(outcome, Admitted):
            estimate = self.estimate(outcome.place, now)
            cap = self.settings.max_environments
            return Opened(
                status="queued",
                message=(
                    f"All {cap} lab environments are in use. You are number {outcome.place} "
                    f"in the queue; one should be free in {_minutes(estimate)}. "
                    "Keep this page open to keep your place."
                ),
                place=outcome.place,
                waiting=outcome.waiting,
                estimate_seconds=round(estimate),
            )
        try:
            env = self.provider.start(kind, owner, env_id=outcome.env_id)
        except BaseException:
            self.registry.release(outcome.env_id, owner)
            raise
        if not self.registry.save(env, "ready"):  # stopped while it was starting
            self.provider.stop(env)
            return Opened(status="stopped", message="Your environment was stopped as it started.")
        return Opened(status="started", message=f"Your {kind} is ready.", env=env)

    def _existing(self, env_id: str, kind: str, now: float) -> Opened:
        entry = self.registry.get(env_id)
        if entry is None or entry.env is None:
            return Opened(
                status="starting",
                message="Your environment is starting; it will be ready in a few seconds.",
            )
        self.registry.touch(env_id, now)
        if entry.kind != kind:
            message = (
                f"You already have a {entry.kind} environment (one per learner). "
                f"Stop it first to start a {kind}."
            )
        else:
            message = f"Your {kind} is already running."
        return Opened(status="existing", message=message, env=entry.env)

    def current(self, owner: str) -> Environment | None:
        """The learner's ready environment, marked as used now."""
        entry = self.registry.of_owner(owner)
        if entry is None or entry.env is None:
            return None
        self.registry.touch(entry.id, self.clock())
        return entry.env

    def save(self, env: Environment) -> None:
        """After an action that changed pids (restore), so every site process sees them."""
        self.registry.save(env, "ready")

    def stop(self, owner: str) -> bool:
        entry = self.registry.of_owner(owner)
        if entry is None:
            return False
        self._end(entry.id, entry.owner, entry.env)
        return True

    def _end(self, env_id: str, owner: str, env: Environment | None) -> None:
        # Free the place only once the processes are gone, so the cap counts them.
        if env is not None:
            self.provider.stop(env)
        self.registry.release(env_id, owner)

    def ends(self, now: float) -> list[float]:
        """When each active environment will go at the latest, soonest first."""
        return sorted(
            min(e.last_used + self.settings.idle_timeout, e.created + self.settings.max_lifetime)
            for e in self.registry.active()
        )

    def estimate(self, place: int, now: float) -> float:
        """Seconds until the place-th waiting learner gets an environment, at the latest."""
        ends = self.ends(now) or [now]
        rounds, index = divmod(place - 1, len(ends))
        return max(0.0, ends[index] - now + rounds * self.settings.idle_timeout)

    def sweep(self) -> list[str]:
        """Stop what has expired and free the places of dead site processes; the ids."""
        now = self.clock()
        hostname = socket.gethostname()
        swept = []
        for entry in self.registry.active():
            idle = now - entry.last_used > self.settings.idle_timeout
            old = now - entry.created > self.settings.max_lifetime
            stuck = entry.env is None and now - entry.created > 4 * self.settings.start_timeout
            name, _, rest = entry.host.partition(":")
            pid, _, ticks = rest.partition(":")
            dead_host = (
                name == hostname
                and pid.isdigit()
                and not proc.alive(int(pid), int(ticks) if ticks.isdigit() else None)
            )
            # Every node dead (e.g. its site process was replaced): nothing left to serve.
            gone = (
                name == hostname
                and entry.env is not None
                and not any(proc.alive(n.pid, n.pid_ticks) for n in entry.env.nodes)
            )
            if idle or old or stuck or dead_host or gone:
                self._end(entry.id, entry.owner, entry.env)
                swept.append(entry.id)
        return swept
