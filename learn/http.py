"""What the site knows about a request beyond Django's own: its learner and its sender."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request as our middleware leaves it: htmx details and the learner id."""

    htmx: HtmxDetails
    learner_id: str


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)


def is_trusted_proxy(address: str) -> bool:
    """Whether `address` is one of the proxies named in TRUSTED_PROXIES."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request: HttpRequest) -> str:
    """The address of whoever sent this request, as far as we can trust it.

    Without BEHIND_PROXY, the peer's own address. Behind a proxy, every hop
    appends the address it saw to X-Forwarded-For, so only the right-hand end
    of the list is written by proxies we trust: walk it from the right and take
    the first address that is not one of them. Whatever a client put further
    left is its own claim and counts for nothing.
    """
    peer = request.META.get("REMOTE_ADDR", "")
    if not settings.BEHIND_PROXY or not is_trusted_proxy(peer):
        return peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not is_trusted_proxy(hop):
            return hop
    return peer
