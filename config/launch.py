"""What `make run`, `make serve` and `make bench` do before serving."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from config.embedded import die_with_parent, start_missing_servers, stop_all

ROOT = Path(__file__).resolve().parent.parent


def prepare_site(env: dict[str, str] | None = None, *, collectstatic: bool = False) -> None:
    """Migrate, (collect static files,) load the shipped course; raise if a step fails."""
    steps = [["migrate", "--no-input", "-v", "0"]]
    if collectstatic:
        steps.append(["collectstatic", "--no-input", "-v", "0"])
    steps += [["load_content"], ["housekeeping"]]
    for step in steps:
        subprocess.run([sys.executable, "manage.py", *step], env=env, cwd=ROOT, check=True)


def keep_house(stop: threading.Event, interval: float) -> None:
    """Run `manage.py housekeeping` every `interval` seconds until `stop` is set.

    Expired sessions and throttle windows are deleted as the site runs, not
    left to pile up (a failure is logged by the command and tried next time).
    """
    while not stop.wait(interval):
        subprocess.run(
            [sys.executable, "manage.py", "housekeeping"],
            cwd=ROOT,
            check=False,
            stdout=subprocess.DEVNULL,
        )


def start_housekeeping() -> threading.Event:
    """Start keep_house() in the background; set the returned event to stop it."""
    stop = threading.Event()
    interval = float(os.environ.get("HOUSEKEEPING_INTERVAL") or 3600)
    threading.Thread(target=keep_house, args=(stop, interval), daemon=True).start()
    return stop


def run_until_stopped(args: list[str]) -> int:
    """Run the web server as a child until it exits, Ctrl-C, or SIGTERM.

    The child gets a process group of its own (so runserver's autoreloader goes
    with it) and dies with us even if we are killed outright. SIGTERM stops it
    like Ctrl-C does, and a start from a background shell (SIGINT ignored) still
    stops on SIGINT.
    """
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    child = subprocess.Popen(args, cwd=ROOT, start_new_session=True, preexec_fn=die_with_parent)
    try:
        return child.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop_group(child)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _stop_group(child: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGTERM)
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def serve(command: list[str], *, collectstatic: bool = False, banner: str = "") -> int:
    """Start missing Redis servers, prepare the site, run `command` until stopped."""
    servers = start_missing_servers()
    for server in servers:
        # The address only: the URL carries the server's password.
        print(f"Started {os.path.basename(server.binary)} on {server.address}", flush=True)
    housekeeping = None
    try:
        prepare_site(collectstatic=collectstatic)
        if banner:
            print(banner, flush=True)
        housekeeping = start_housekeeping()
        return run_until_stopped(command)
    except KeyboardInterrupt:
        return 0
    except subprocess.CalledProcessError as exc:
        return exc.returncode
    finally:
        if housekeeping is not None:
            housekeeping.set()
        stop_all(servers)
