"""Tidy up after a site process that died without stopping its environments.

Nodes normally die with the site (PR_SET_PDEATHSIG), but a folder is left
behind, and a node can outlive it (the signal is SIGTERM; a node busy in a
long script takes its time). At start, every folder under the runtime dir
whose owning site process is gone has its recorded nodes killed — only
processes whose pid *and* start time match the record, or that run inside the
folder — and is removed.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from . import nodes as proc

# A folder with no env.json yet is a start in progress, unless it is this old.
UNRECORDED_GRACE = 60.0


def _owner_alive(site: dict) -> bool:
    if site.get("boot") != proc.boot_id():
        return False  # the machine restarted since: every pid in it is meaningless
    return proc.alive(site.get("pid"), site.get("ticks"))


def clean_orphans(runtime_dir: str | Path) -> list[str]:
    """Kill and remove every environment whose site process is gone; their ids."""
    root = Path(runtime_dir)
    if not root.is_dir():
        return []
    cleaned = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        record = folder / "env.json"
        try:
            data = json.loads(record.read_text())
        except (OSError, ValueError):
            if time.time() - folder.stat().st_mtime < UNRECORDED_GRACE:
                continue
            data = {"site": {}, "env": {}}
        if _owner_alive(data["site"]):
            continue
        env = data["env"]
        members = [*env.get("nodes", []), *env.get("sentinels", [])]
        proc.kill((m.get("pid"), m.get("pid_ticks")) for m in members)
        proc.kill((pid, proc.start_ticks(pid)) for pid in proc.processes_under(folder))
        shutil.rmtree(folder, ignore_errors=True)
        cleaned.append(folder.name)
    return cleaned
