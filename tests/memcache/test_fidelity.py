"""Acceptance 1: the console prints byte for byte what a raw socket receives.

The same script runs through the console on one fresh memcached and, typed
with the prefixed keys by hand, through a raw socket on a twin started alike
(so cas uniques agree); the raw bytes, with the prefix taken out, must equal
the console's reply exactly.
"""

from __future__ import annotations

import pytest

from memcache import clients
from tests.memcache.conftest import make_console, raw_exchange

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

LONG = "k" * 231  # 251 bytes with the 20-byte prefix: one over memcached's limit
TRICKY = "a\r\nEND\r\nbc"  # a value that looks like the end of a reply
SCRIPT: list[tuple[str, str | None]] = [
    ("version", None),
    ("set greeting 0 0 5", "hello"),
    ("get greeting", None),
    ("add greeting 0 0 3", "bye"),
    ("add fresh 0 0 3", "new"),
    ("replace missing 0 0 1", "x"),
    ("replace greeting 0 0 5", "howdy"),
    ("append greeting 0 0 6", ", you!"),
    ("prepend greeting 0 0 3", "oh "),
    ("get greeting fresh missing", None),
    ("gets greeting", None),
    ("cas greeting 0 0 2 {cas}", "hi"),
    ("cas greeting 0 0 2 {cas}", "no"),
    ("cas nothere 0 0 1 1", "x"),
    ("set counter 5 0 2", "10"),
    ("incr counter 5", None),
    ("decr counter 20", None),
    ("incr greeting 1", None),
    ("incr missing 1", None),
    ("touch counter 100", None),
    ("touch missing 10", None),
    ("gat 0 counter greeting", None),
    ("gats 0 counter", None),
    ("delete fresh", None),
    ("delete fresh", None),
    ("set quiet 0 0 2 noreply", "ok"),
    ("get quiet", None),
    ("ms meta 5 T0 F3", "hello"),
    ("mg meta v f s k", None),
    ("mg meta k c", None),
    ("mg absent v", None),
    ("mg absent v q", None),
    ("md meta", None),
    ("md meta q", None),
    ("mn", None),
    ("ma counter", None),
    ("ma counter v", None),
    ("set big 0 0 70000", "x" * 70000),
    ("get big", None),
    (f"get {LONG}", None),
    ("set empty 0 0 0", ""),
    ("get empty", None),
    ("set tricky 0 0 10", TRICKY),
    ("get tricky", None),
    ("set utf 0 0 6", "héllo"),
    ("gets utf", None),
    ("append nothere 0 0 1", "x"),
]


REPLY_KINDS = [
    b"STORED", b"NOT_STORED", b"EXISTS", b"NOT_FOUND", b"DELETED", b"TOUCHED", b"VALUE",
    b"VA ", b"HD", b"EN", b"MN", b"CLIENT_ERROR", b"SERVER_ERROR",
]  # fmt: skip


def raw_line(line: str, prefix: bytes) -> bytes:
    """The command line as a learner without the console would type it: prefixed keys."""
    tokens = line.encode().split(b" ")
    name = tokens[0]
    if name in (b"get", b"gets"):
        positions = range(1, len(tokens))
    elif name in (b"gat", b"gats"):
        positions = range(2, len(tokens))
    elif name in (b"version", b"mn"):
        positions = range(0)
    else:
        positions = range(1, 2)
    for i in positions:
        tokens[i] = prefix + tokens[i]
    return b" ".join(tokens)


def test_a_script_of_protocol_steps_prints_what_a_raw_socket_receives(twin_servers, app_redis):
    console_server, raw_server = twin_servers
    console = make_console(console_server, app_redis)
    prefix = clients.prefix_for("fidelity")
    cas = {"console": b"", "raw": b""}
    assert len(SCRIPT) >= 30
    for step, (line, data) in enumerate(SCRIPT):
        typed = line.replace("{cas}", cas["console"].decode())
        text = typed if data is None else f"{typed}\n{data}"
        outcome = console.run(prefix, text)

        wire = raw_line(line.replace("{cas}", cas["raw"].decode()), prefix.raw) + b"\r\n"
        if data is not None:
            wire += data.encode() + b"\r\n"
        expected = raw_exchange(raw_server, wire).replace(prefix.raw, b"")

        assert outcome.raw == expected, f"step {step}: {line}"
        assert outcome.reply == expected.decode("utf-8", errors="replace")
        if line.startswith("gets greeting"):
            cas = {
                "console": outcome.raw.split(b"\r\n")[0].split(b" ")[-1],
                "raw": expected.split(b"\r\n")[0].split(b" ")[-1],
            }


def test_the_script_hits_every_kind_of_reply(twin_servers, app_redis):
    console = make_console(twin_servers[0], app_redis)
    prefix = clients.prefix_for("kinds")
    replies = b""
    for line, data in SCRIPT:
        typed = line.replace("{cas}", "1")
        text = typed if data is None else f"{typed}\n{data}"
        replies += console.run(prefix, text).raw
    for word in REPLY_KINDS:
        assert word in replies, word
