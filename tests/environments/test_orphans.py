"""What a crashed site process leaves behind is found and cleaned at start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from config.embedded import find_server_binary, free_port
from labs.environments.local import LocalProvider
from labs.environments.nodes import alive, boot_id, processes_under, start_ticks
from labs.environments.orphans import clean_orphans
from labs.environments.settings import LabSettings
from tests.environments.conftest import poll

pytestmark = pytest.mark.redis


def fake_env(root: Path, env_id: str, site: dict) -> subprocess.Popen:
    """An environment folder with one real node running in it, as a site records it."""
    folder = root / env_id
    folder.mkdir()
    node = subprocess.Popen(
        [find_server_binary(), "--port", str(free_port()), "--save", "", "--dir", str(folder)],
        cwd=folder,
        stdout=subprocess.DEVNULL,
    )
    record = {"pid": node.pid, "pid_ticks": start_ticks(node.pid)}
    (folder / "env.json").write_text(json.dumps({"site": site, "env": {"nodes": [record]}}))
    return node


def test_a_dead_sites_nodes_are_killed_and_its_folder_removed(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_site = {"pid": int(gone.stdout), "ticks": 1, "boot": boot_id()}
    here = {"pid": os.getpid(), "ticks": start_ticks(os.getpid()), "boot": boot_id()}
    orphan = fake_env(tmp_path, "aaaaaaaaaaaa", dead_site)
    live = fake_env(tmp_path, "bbbbbbbbbbbb", here)
    try:
        assert clean_orphans(tmp_path) == ["aaaaaaaaaaaa"]
        orphan.wait(timeout=5)
        assert not (tmp_path / "aaaaaaaaaaaa").exists()
        assert alive(live.pid) and (tmp_path / "bbbbbbbbbbbb").exists()
    finally:
        orphan.kill()
        live.kill()
        live.wait()


def test_nodes_die_with_a_killed_site_and_the_next_start_cleans_the_folder(tmp_path):
    script = (
        "import sys, time\n"
        "from labs.environments.local import LocalProvider\n"
        "from labs.environments.settings import LabSettings\n"
        f"p = LocalProvider(LabSettings(runtime_dir={str(tmp_path)!r}))\n"
        "env = p.start('cluster', 'learner-a')\n"
        "print(' '.join(str(n.pid) for n in env.nodes), flush=True)\n"
        "time.sleep(120)\n"
    )
    site = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    try:
        pids = [int(pid) for pid in site.stdout.readline().split()]
        assert len(pids) == 6 and all(alive(pid) for pid in pids)
        site.send_signal(signal.SIGKILL)
        site.wait()
        poll(lambda: not any(alive(pid) for pid in pids), 10, "the nodes outlived their site")
        assert len(list(tmp_path.iterdir())) == 1  # the folder is still there
        provider = LocalProvider(LabSettings(runtime_dir=str(tmp_path)))
        assert len(provider.cleaned) == 1 and list(tmp_path.iterdir()) == []
    finally:
        site.kill()
        for pid in processes_under(tmp_path):
            os.kill(pid, signal.SIGKILL)
