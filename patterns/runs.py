"""Starting, running and finishing bench runs, fairly.

Where a run executes: a small thread pool in the web process. A run is
I/O-bound (it waits on the slow database's delay and on Redis round trips),
so threads overlap it well in spite of the GIL, and they need no extra
service to deploy or supervise: `make run`, gunicorn and the tests work as
they are. The pool has PATTERNS_MAX_RUNS threads; the request that starts a
run only writes its row and hands it over, so a web worker never waits for a
run. A process pool would isolate CPU better but would need its own Django
setup and database connections per process, for runs that hardly use a CPU.

Fairness lives in the database, so every worker process agrees: a run takes
one of PATTERNS_MAX_RUNS slots (unique), and a learner holds at most one slot
(unique). A run that outlives its deadline (a process that died mid-run) is
marked failed and its slot freed by the next start or the next look at it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

from django.conf import settings
from django.db import (
    IntegrityError,
    OperationalError,
    close_old_connections,
    connections,
    transaction,
)
from django.utils import timezone

from config.redis_config import APP_REDIS_DOWN as DOWN
from learn.models import Learner
from learn.redis_clients import sandbox
from learn.sandbox.runner import SandboxUnavailable
from learn.sandbox_views import namespace_of
from patterns.cache import BenchCache, CacheError
from patterns.engine import Workload, run_pattern
from patterns.models import Run
from patterns.slowdb import SlowDatabase
from patterns.stampede import Stampede, run_stampede

log = logging.getLogger(__name__)
GRACE_SECONDS = 30  # past its length: the drain, the memory count, the cleanup
TIMED_OUT = "The run took too long and was stopped. Try a shorter run or fewer keys."
SANDBOX_AWAY = "The sandbox server is unavailable, so the run stopped. Try again in a moment."


class Refused(Exception):
    """A run that may not start now; the message says why."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(settings.PATTERNS_MAX_RUNS, thread_name_prefix="bench")
        return _pool


def reap_overdue() -> int:
    """Fail runs past their deadline (their process died or hung); free their slots."""
    overdue = 0
    for run in Run.objects.overdue():
        run.finish(None, TIMED_OUT)
        overdue += 1
    return overdue


BUSY = "The bench is busy: {} runs are going already. Try again in a few seconds."
NETWORK_BUSY = (
    "Someone on your network already has a run going: one network runs one at a time, "
    "so the bench stays free for everyone. Try again when it has finished."
)


def start(learner_id: str, kind: str, params: dict, lab: str = "", origin: str = "") -> Run:
    """Take a slot and hand the run to the pool; Refused if the learner, their
    network (`origin`, an opaque token of the client's address) or the site is busy.

    `lab`: the slug of the lab the learner came from, for the link back.
    """
    reap_overdue()
    if Run.objects.of(learner_id).active().exists():
        raise Refused(
            "You already have a run going. Wait for it to finish, then start another.", 409
        )
    if origin and Run.objects.active().filter(origin=origin).exists():
        raise Refused(NETWORK_BUSY, 429)
    # Before the new run exists: pruning after would write beside its starting thread.
    _prune(learner_id, keep=settings.PATTERNS_KEEP_RUNS - 1)
    deadline = Run.deadline_for(params["seconds"], GRACE_SECONDS)
    taken = set(Run.objects.active().values_list("slot", flat=True))
    if len(taken) >= settings.PATTERNS_MAX_RUNS:
        raise Refused(BUSY.format(settings.PATTERNS_MAX_RUNS), 429)
    # Only now: a refused newcomer (a new learner per cookieless request) leaves no row.
    learner, _ = Learner.objects.get_or_create(id=learner_id)
    for slot in range(settings.PATTERNS_MAX_RUNS):
        if slot in taken:
            continue
        try:
            with transaction.atomic():
                run = Run.objects.create(
                    learner=learner,
                    kind=kind,
                    params=params,
                    slot=slot,
                    deadline=deadline,
                    lab=lab,
                    origin=origin,
                )
        except IntegrityError:
            # Another worker took this slot, or this learner (or network) started a run, just now.
            if Run.objects.of(learner_id).active().exists():
                raise Refused("You already have a run going.", 409) from None
            if origin and Run.objects.active().filter(origin=origin).exists():
                raise Refused(NETWORK_BUSY, 429) from None
            continue
        transaction.on_commit(functools.partial(pool().submit, execute, run.pk))
        return run
    raise Refused(BUSY.format(settings.PATTERNS_MAX_RUNS), 429)


def run_now(learner_id: str, kind: str, params: dict) -> Run:
    """Run in the calling thread and return the finished run: for a lab's
    validation, whose solution runs for a scratch learner.

    It takes no slot: slots share the bench between learners, and this runs
    inside an instructor's save (its transaction would hide the slot's row
    from everyone else until the save ends). The caller bounds its length.
    """
    learner, _ = Learner.objects.get_or_create(id=learner_id)
    deadline = Run.deadline_for(params["seconds"], GRACE_SECONDS)
    run = Run.objects.create(learner=learner, kind=kind, params=params, deadline=deadline)
    try:
        result, error = _measure(run), ""
    except (SandboxUnavailable, CacheError, *DOWN) as exc:
        result, error = None, f"{SANDBOX_AWAY} ({exc})"
    run.finish(result, error)
    return run


def _prune(learner_id: str, keep: int) -> None:
    """Keep a learner's latest `keep` runs (runs going are never deleted)."""
    keep = Run.objects.of(learner_id).values_list("pk", flat=True)[: max(keep, 0)]
    Run.objects.of(learner_id).filter(slot__isnull=True).exclude(pk__in=list(keep)).delete()


def execute(run_id: UUID) -> None:
    """Run it for real (in a pool thread), store the result, free the slot."""
    close_old_connections()
    try:
        run = Run.objects.get(pk=run_id)
        result, error = _measure(run), ""
    except (SandboxUnavailable, CacheError, *DOWN) as exc:
        log.warning("bench run %s: sandbox unavailable: %s", run_id, exc)
        result, error = None, SANDBOX_AWAY
    except Exception:
        log.exception("bench run %s failed", run_id)
        result, error = None, "The run failed on the server. Try again."
    try:
        _store(run_id, result, error)
    finally:
        connections.close_all()  # this thread's connections only


def _store(run_id: UUID, result: dict | None, error: str) -> None:
    """Only a run still marked running may finish (not one reaped meanwhile).

    A busy SQLite answers "locked" now and then: try again, briefly.
    """
    for attempt in range(5):
        try:
            Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).update(
                status=Run.Status.FAILED if error else Run.Status.DONE,
                result=result,
                error=error,
                slot=None,
                finished_at=timezone.now(),
            )
            return
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))  # back off before the next try


def _measure(run: Run) -> dict:
    engine = sandbox()
    seal = hmac.new(settings.SECRET_KEY.encode(), b"bench:" + run.pk.bytes, hashlib.sha256)
    cache = BenchCache(
        engine, namespace_of(str(run.learner_id)), run.pk.hex[:12], seal=seal.digest()
    )
    db = SlowDatabase(run.params["keys"], run.params["db_latency_ms"])

    def progress(state: dict) -> None:
        # Progress is a courtesy: a locked table must not stop the run.
        with contextlib.suppress(OperationalError):
            Run.objects.filter(pk=run.pk).update(progress=state)

    try:
        if run.kind == Run.Kind.STAMPEDE:
            return run_stampede(Stampede(**run.params), cache, db, progress)
        return run_pattern(Workload(**run.params), cache, db, progress)
    finally:
        db.close()
        cache.cleanup()


def refresh(run: Run) -> Run:
    """The run as it is now; one past its deadline is failed on the spot."""
    if run.running and run.deadline < timezone.now():
        run.finish(None, TIMED_OUT)
    return run
