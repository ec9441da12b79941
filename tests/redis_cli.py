"""Running the real redis-cli against a test server.

The servers the tests start have passwords. Passing one with `-u` or `-a` makes
redis-cli print a warning on stderr (the fidelity tests compare its output
byte for byte), and a URL without a user name makes it send `AUTH "" pw`,
which fails; so the password goes through REDISCLI_AUTH and the user by name.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit


def cli_connection(url: str) -> tuple[list[str], dict[str, str]]:
    """redis-cli arguments and environment that reach the server at `url`."""
    parts = urlsplit(url)
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379)]
    env = dict(os.environ)
    env.pop("REDISCLI_AUTH", None)
    if parts.password:
        args += ["--user", parts.username or "default"]
        env["REDISCLI_AUTH"] = parts.password
    if parts.path.strip("/") not in ("", "0"):
        args += ["-n", parts.path.strip("/")]
    return args, env
