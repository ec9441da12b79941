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

# The same default as TRUSTED_PROXIES in config/settings.py.
DEFAULT_TRUSTED_PROXIES = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"


def gunicorn_command(environ: Mapping[str, str], bind: str, access_log: str) -> list[str]:
    """The gunicorn command line `make serve` runs and `make bench` measures.

    One worker per core, each an asyncio loop that reads requests whole before
    Django sees them (config/worker.py, config/asgi.py): slow clients cost
    memory, not workers, and are cut off after HEADER_TIMEOUT / BODY_TIMEOUT
    seconds. Django itself still runs one request at a time per worker, in one
    thread: a request here is CPU-bound work (ORM, templates) with
    sub-millisecond waits on Redis and SQLite, so more threads would add GIL
    and write-lock contention rather than throughput.

    gunicorn believes X-Forwarded-Proto/-For only from TRUSTED_PROXIES, and
    only behind a proxy (BEHIND_PROXY), as Django does.
    """
    workers = environ.get("WEB_CONCURRENCY") or str(os.cpu_count() or 2)
    trusted = environ.get("TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES)
    behind_proxy = environ.get("BEHIND_PROXY", "").strip().lower() in {"1", "true", "yes", "on"}
    return [
        sys.executable, "-m", "gunicorn", "config.asgi:application",
        "--worker-class", "config.worker.Worker",
        "--workers", workers, "--bind", bind, "--access-logfile", access_log,
        "--graceful-timeout", "10",
        # How long a kept-alive connection may idle, and (the worker's own
        # rule) how long any wait for a body chunk may last.
        "--keep-alive", "5", "--timeout", "20",
        "--forwarded-allow-ips", trusted if behind_proxy else "",
        # Django behind WsgiToAsgi has no ASGI lifespan; and no control socket,
        # whose one default path would be shared by every server on the machine.
        "--asgi-lifespan", "off", "--no-control-socket",
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
