"""Log-in throttling kept in the app Redis: a pause after repeated failures.

Counted per user name and client address, so one attacker cannot lock a real
user out from elsewhere, and a pause ends by itself (the key's TTL).
"""

import contextlib
import hashlib

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

from config.redis_config import APP_REDIS_DOWN as DOWN
from learn.redis_clients import app_redis


def _key(request: HttpRequest | None, username: str) -> str:
    address = request.META.get("REMOTE_ADDR", "") if request else ""
    digest = hashlib.sha256(f"{username.lower()}|{address}".encode()).hexdigest()[:32]
    return f"cachelab:login-failures:{digest}"


def failures(request: HttpRequest | None, username: str) -> int:
    try:
        return int(app_redis().get(_key(request, username)) or 0)
    except DOWN:
        return 0  # no Redis, no throttle: the password check still stands


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and failures(request, username) >= settings.LOGIN_FAILURE_LIMIT:
            # Stops every backend: the log-in fails however right the password is.
            raise PermissionDenied("too many failed log-ins; try again later")
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed)
def count_failure(sender, credentials, request=None, **kwargs) -> None:
    username = credentials.get("username", "")
    if not username:
        return
    try:
        # MULTI/EXEC, so a count never outlives its window; one key, so it
        # also runs as a transaction on a cluster.
        pipe = app_redis().pipeline(transaction=True)
        pipe.incr(_key(request, username)).expire(
            _key(request, username), settings.LOGIN_FAILURE_WINDOW
        )
        pipe.execute()
    except DOWN:
        pass


@receiver(user_logged_in)
def forget_failures(sender, request, user, **kwargs) -> None:
    with contextlib.suppress(*DOWN):
        app_redis().delete(_key(request, user.get_username()))
