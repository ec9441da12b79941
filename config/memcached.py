"""Where the Memcached console's server is, and whether it answers.

Memcached is optional: without MEMCACHED_URL the site runs and the console's
page says how to get it. Plain Python, so /healthz (learn) and the console
(memcache) both read the address the same way.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

DEFAULT_PORT = 11211


def address(url: str) -> tuple[str, int] | None:
    """(host, port) from `memcached://host:port` or `host:port`; None when unset."""
    url = url.strip()
    if not url:
        return None
    parts = urlsplit(url if "://" in url else f"memcached://{url}")
    if parts.scheme != "memcached" or not parts.hostname:
        raise ValueError(f"MEMCACHED_URL must look like memcached://host:port, not {url!r}")
    return parts.hostname, parts.port or DEFAULT_PORT


def state(url: str, timeout: float) -> str:
    """ "ok", "absent" (not configured) or "down", for /healthz."""
    try:
        where = address(url)
    except ValueError:
        return "down"
    if where is None:
        return "absent"
    try:
        with socket.create_connection(where, timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"version\r\n")
            return "ok" if sock.recv(64).startswith(b"VERSION ") else "down"
    except OSError:
        return "down"
