"""`make serve`: production mode under gunicorn.

DEBUG off, whitenoise serving compressed, hashed static files, settings from
the environment. Refuses to start without a real SECRET_KEY. Like `make run`,
it starts embedded Redis servers only when REDIS_URL / SANDBOX_REDIS_URL are
unset, so it can be tried on a bare machine (HTTPS=0 for plain HTTP there).
"""

import os
import sys

from config.launch import serve


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
    workers = os.environ.get("WEB_CONCURRENCY") or str(os.cpu_count() or 2)
    bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
    gunicorn = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--workers", workers, "--bind", bind,
        "--access-logfile", "-" if os.environ.get("ACCESS_LOG") else "/dev/null",
        "--graceful-timeout", "10",
    ]  # fmt: skip
    return serve(gunicorn, collectstatic=True)


if __name__ == "__main__":
    sys.exit(main())
