"""Log-in throttling: a pause after repeated failures, counted three ways.

- per user name and client address: a learner mistyping their own password;
- per address, whatever the names: one sender spraying many user names;
- per account, from every address: a guess spread over many senders, at a
  bar high enough that a stranger cannot lock a user out with a few tries.

The address is the real client's (learn.http.client_ip), not a load
balancer's, which would otherwise pool everyone. A pause ends by itself when
its window passes. Counts live in the database (learn/throttle.py).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

from learn import throttle
from learn.http import client_ip


def _keys(request: HttpRequest | None, username: str) -> dict[str, tuple[str, int]]:
    """Each throttle's key and limit for a log-in as `username` from this request."""
    address = client_ip(request) if request else ""
    name = username.lower()
    return {
        "name_and_address": (
            throttle.throttle_key("login", name, address),
            settings.LOGIN_FAILURE_LIMIT,
        ),
        "address": (
            throttle.throttle_key("login-address", address),
            settings.LOGIN_ADDRESS_FAILURE_LIMIT,
        ),
        "account": (
            throttle.throttle_key("login-account", name),
            settings.LOGIN_ACCOUNT_FAILURE_LIMIT,
        ),
    }


def paused(request: HttpRequest | None, username: str) -> bool:
    """Whether log-ins as `username` from this request wait out a pause (one query)."""
    keys = _keys(request, username)
    found = throttle.counts(key for key, _ in keys.values())
    return any(found[key] >= limit for key, limit in keys.values())


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and paused(request, username):
            # Stops every backend: the log-in fails however right the password is.
            raise PermissionDenied("too many failed log-ins; try again later")
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed)
def count_failure(sender, credentials, request=None, **kwargs) -> None:
    username = credentials.get("username", "")
    if not username:
        return
    for key, _limit in _keys(request, username).values():
        throttle.hit(key, settings.LOGIN_FAILURE_WINDOW)


@receiver(user_logged_in)
def forget_failures(sender, request, user, **kwargs) -> None:
    # The address's count stays: a right password for one name says nothing
    # about the other names that address tried.
    keys = _keys(request, user.get_username())
    throttle.clear(keys["name_and_address"][0])
