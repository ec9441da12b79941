"""`make run`: everything needed to use the site, then runserver.

Starts embedded Redis servers when none is configured, migrates, loads the
shipped content and serves on 127.0.0.1:$PORT. Ctrl-C stops the site and the
servers it started.
"""

import os
import subprocess
import sys

from config.embedded import start_missing_servers, stop_all
from config.launch import prepare_site, run_until_stopped


def main() -> int:
    port = os.environ.get("PORT", "8000")
    servers = start_missing_servers()
    for server in servers:
        print(f"Started {os.path.basename(server.binary)} on {server.url}", flush=True)
    try:
        prepare_site()
        print(
            f"\nCacheLab: http://127.0.0.1:{port}/\n"
            "Admin login: run `make admin` in another terminal, then open /admin/.\n",
            flush=True,
        )
        runserver = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"]
        return run_until_stopped(runserver)
    except KeyboardInterrupt:
        return 0
    except subprocess.CalledProcessError as exc:
        return exc.returncode
    finally:
        stop_all(servers)


if __name__ == "__main__":
    sys.exit(main())
