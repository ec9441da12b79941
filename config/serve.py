"""`make serve`: production mode under gunicorn.

DEBUG off, whitenoise serving compressed, hashed static files, settings from
the environment. Refuses to start without a real SECRET_KEY. Like `make run`,
it starts embedded Redis servers only when REDIS_URL / SANDBOX_REDIS_URL are
unset, so it can be tried on a bare machine (HTTPS=0 for plain HTTP there).
"""

import os
import subprocess
import sys

from config.embedded import start_missing_servers, stop_all
from config.launch import prepare_site, run_until_stopped


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
    servers = start_missing_servers()
    try:
        prepare_site(collectstatic=True)
        gunicorn = [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--workers", workers, "--bind", bind,
            "--access-logfile", "-" if os.environ.get("ACCESS_LOG") else "/dev/null",
            "--graceful-timeout", "10",
        ]  # fmt: skip
        return run_until_stopped(gunicorn)
    except KeyboardInterrupt:
        return 0
    except subprocess.CalledProcessError as exc:
        return exc.returncode
    finally:
        stop_all(servers)


if __name__ == "__main__":
    sys.exit(main())
