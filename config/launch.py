"""What `make run`, `make serve` and `make bench` do before serving."""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from config.embedded import die_with_parent, start_missing_servers, stop_all

ROOT = Path(__file__).resolve().parent.parent


def prepare_site(env: dict[str, str] | None = None, *, collectstatic: bool = False) -> None:
    """Migrate, (collect static files,) load the shipped course; raise if a step fails."""
    steps = [["migrate", "--no-input", "-v", "0"]]
    if collectstatic:
        steps.append(["collectstatic", "--no-input", "-v", "0"])
    steps.append(["load_content"])
    for step in steps:
        subprocess.run([sys.executable, "manage.py", *step], env=env, cwd=ROOT, check=True)


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
        print(f"Started {os.path.basename(server.binary)} on {server.url}", flush=True)
    try:
        prepare_site(collectstatic=collectstatic)
        if banner:
            print(banner, flush=True)
        return run_until_stopped(command)
    except KeyboardInterrupt:
        return 0
    except subprocess.CalledProcessError as exc:
        return exc.returncode
    finally:
        stop_all(servers)
