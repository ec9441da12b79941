"""`make run`: everything needed to use the site, then runserver.

Starts embedded Redis servers when none is configured, migrates, loads the
shipped content and serves on 127.0.0.1:$PORT. Ctrl-C stops the site and the
servers it started.
"""

import os
import sys

from config.launch import serve


def main() -> int:
    # Development: tracebacks and the development key (settings default DEBUG off).
    os.environ.setdefault("DEBUG", "1")
    port = os.environ.get("PORT", "8000")
    banner = (
        f"\nCacheLab: http://127.0.0.1:{port}/\n"
        "Admin login: run `make admin` in another terminal, then open /admin/.\n"
    )
    return serve([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"], banner=banner)


if __name__ == "__main__":
    sys.exit(main())
