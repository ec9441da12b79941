"""`make run`: everything needed to use the site, then runserver.

Starts embedded Redis servers when none is configured (and a memcached for the
Memcached console, when MEMCACHED_URL is unset and `memcached` is on PATH),
migrates, loads the shipped content and serves on 127.0.0.1:$PORT. Ctrl-C
stops the site and the servers it started.
"""

import os
import sys

from config.embedded import MEMCACHED_HINT, start_missing_memcached
from config.launch import serve


def main() -> int:
    # Development: tracebacks and the development key (settings default DEBUG off).
    os.environ.setdefault("DEBUG", "1")
    port = os.environ.get("PORT", "8000")
    banner = (
        f"\nCacheLab: http://127.0.0.1:{port}/\n"
        "Admin login: run `make admin` in another terminal, then open /admin/.\n"
    )
    memcached = start_missing_memcached()
    if memcached:
        print(f"Started memcached on {memcached.address}", flush=True)
    elif not os.environ.get("MEMCACHED_URL"):
        # Optional: the site runs, and the console's page says the same.
        banner += f"Memcached console: memcached not found ({MEMCACHED_HINT} to try it).\n"
    try:
        command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"]
        return serve(command, banner=banner)
    finally:
        if memcached:
            memcached.stop()


if __name__ == "__main__":
    sys.exit(main())
