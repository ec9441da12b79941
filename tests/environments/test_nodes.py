"""Ports, config files and /proc checks: no server needed."""

import os
import socket
import subprocess
import sys

import pytest

from labs.environments import nodes, settings
from labs.environments.nodes import PortAllocator, alive, node_config, start_ticks
from labs.environments.settings import BUS_OFFSET, parse_port_range, port_range_problem


def test_the_default_port_range_and_its_bus_ports_avoid_the_ephemeral_range():
    assert port_range_problem(settings.DEFAULT_PORT_RANGE) is None


def test_it_names_a_range_whose_bus_ports_fall_in_the_ephemeral_range(monkeypatch):
    monkeypatch.setattr(settings, "ephemeral_range", lambda: (32768, 60999))
    problem = port_range_problem((30000, 30999))
    assert "cluster bus ports 40000-40999" in problem
    assert "32768-60999" in problem


@pytest.mark.parametrize("text", ["", "20000", "a-b", "20999-20000", "60000-61000", "80-90"])
def test_it_rejects_a_malformed_port_range_with_a_message(text):
    with pytest.raises(ValueError, match="LAB_PORT_RANGE"):
        parse_port_range(text)


def test_the_allocator_skips_busy_ports_and_never_hands_one_out_twice():
    low = 15980  # outside the lab range, which other tests' nodes use
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", low + 1))
        allocator = PortAllocator((low, low + 2))
        ports = {allocator.take(bus=False)[0] for _ in range(2)}
        assert ports == {low, low + 2}
        with pytest.raises(OSError, match="no free port left"):
            allocator.take(bus=False)


def test_a_released_port_can_be_handed_out_again():
    allocator = PortAllocator((15990, 15990))
    port, _bus = allocator.take(bus=True)
    allocator.release(port)
    assert allocator.take(bus=True) == (port, port + BUS_OFFSET)


def test_the_allocator_says_when_the_range_is_used_up():
    allocator = PortAllocator((15991, 15991))
    allocator.take(bus=False)
    with pytest.raises(OSError, match="no free port left"):
        allocator.take(bus=False)


def test_a_node_config_locks_the_server_down_and_confines_the_learner():
    text = node_config(
        port=20001,
        folder="/srv/env",
        name="0001-001",
        control_user="cachelab-control",
        control_password="c" * 48,
        learner_password="l" * 48,
        maxmemory="16mb",
        maxmemory_policy="volatile-lru",
        bus_port=30001,
    )
    for line in (
        "bind 127.0.0.1",
        'save ""',
        "appendonly no",
        "dir /srv/env",
        "enable-protected-configs no",
        "enable-debug-command no",
        "enable-module-command no",
        "maxmemory 16mb",
        "cluster-port 30001",
        f"masterauth {'c' * 48}",
    ):
        assert line in text.splitlines()
    learner = next(line for line in text.splitlines() if line.startswith("user default"))
    for denied in ("-replicaof", "-migrate", "-acl|setuser", "-config|set", "-cluster|meet"):
        assert denied in learner.split()


def test_a_pid_is_only_alive_while_it_is_the_same_process():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        ticks = start_ticks(child.pid)
        assert alive(child.pid, ticks)
        assert not alive(child.pid, ticks + 1)  # a reused pid is another process
    finally:
        child.kill()
    # Killed but not yet collected: a zombie is not alive.
    nodes.wait_until(lambda: not alive(child.pid), 5, "the child did not die")
    child.wait()
    assert not alive(os.getpid() + 10_000_000)
