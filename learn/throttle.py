"""Counting attempts in a window: "at most N tries per M seconds" for one key.

Rows in the database (learn.models.Throttle), so memory pressure on the app
Redis can never reset a throttle by evicting it. Keys are hashes: user names
and addresses are not stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from learn.models import Throttle


def throttle_key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]
    return f"{kind}:{digest}"[:64]


def counts(keys: Iterable[str]) -> dict[str, int]:
    """The live count of each key (0 when absent or its window has passed): one query."""
    keys = list(keys)
    rows = Throttle.objects.filter(key__in=keys, expires_at__gt=timezone.now())
    found = dict(rows.values_list("key", "count"))
    return {key: found.get(key, 0) for key in keys}


def hit(key: str, window: int) -> None:
    """Count one more under `key`; the first count opens a window of `window` seconds."""
    now = timezone.now()
    with transaction.atomic():
        if Throttle.objects.filter(key=key, expires_at__gt=now).update(count=F("count") + 1):
            return
        fresh = {"count": 1, "expires_at": now + timedelta(seconds=window)}
        if Throttle.objects.filter(key=key).update(**fresh):
            return  # an old window, started afresh
        try:
            with transaction.atomic():
                Throttle.objects.create(key=key, **fresh)
        except IntegrityError:
            # Another request opened the window meanwhile: count in it.
            Throttle.objects.filter(key=key).update(count=F("count") + 1)


def clear(key: str) -> None:
    Throttle.objects.filter(key=key).delete()


def purge_expired() -> int:
    """Delete the rows whose window has passed; how many went."""
    deleted, _ = Throttle.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
