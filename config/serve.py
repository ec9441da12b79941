"""`make serve`: production mode under gunicorn.

DEBUG off, whitenoise serving compressed, hashed static files, settings from
the environment. Refuses to start without a real SECRET_KEY. Like `make run`,
it starts embedded Redis servers only when REDIS_URL / SANDBOX_REDIS_URL are
unset, so it can be tried on a bare machine (HTTPS=0 for plain HTTP there).
"""

import os
import sys
from collections.abc import Mapping

from config.launch import serve


def gunicorn_command(environ: Mapping[str, str], bind: str, access_log: str) -> list[str]:
    """The gunicorn command line `make serve` runs and `make bench` measures.

    Sync workers, one per core: a request here is CPU-bound Django work (ORM,
    templates) with sub-millisecond waits on Redis and SQLite, so threads would
    add GIL and write-lock contention rather than throughput.
    """
    workers = environ.get("WEB_CONCURRENCY") or str(os.cpu_count() or 2)
    return [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--workers", workers, "--bind", bind, "--access-logfile", access_log,
        "--graceful-timeout", "10",
    ]  # fmt: skip


def main() -> int:
    os.environ["DEBUG"] = "0"
    key = os.environ.get("SECRET_KEY", "")
    if len(key) < 50:
        print(
            "make serve: refusing to start without a real SECRET_KEY (50+ random characters).\n"
            "  export SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')",
            file=sys.stderr,
        )
        return 2
    bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
    access_log = "-" if os.environ.get("ACCESS_LOG") else "/dev/null"
    return serve(gunicorn_command(os.environ, bind, access_log), collectstatic=True)


if __name__ == "__main__":
    sys.exit(main())
