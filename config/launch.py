"""What `make run`, `make serve` and `make bench` do before serving."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def prepare_site(env: dict[str, str] | None = None, *, collectstatic: bool = False) -> None:
    """Migrate, (collect static files,) load the shipped course; raise if a step fails."""
    steps = [["migrate", "--no-input", "-v", "0"]]
    if collectstatic:
        steps.append(["collectstatic", "--no-input", "-v", "0"])
    steps.append(["load_content"])
    for step in steps:
        subprocess.run([sys.executable, "manage.py", *step], env=env, cwd=ROOT, check=True)
