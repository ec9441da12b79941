"""HELP <command>, written from the server's own COMMAND DOCS."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from learn.sandbox.commands import _pairs

INTRO = """CacheLab sandbox: type Redis commands as you would at a redis-cli prompt.
Your keys live in a namespace of your own on a real Valkey/Redis server.
  HELP <command>   show a command's syntax, e.g. HELP SET
  Up / Down        recall earlier commands
  clear            clear the screen
Server administration, scripts, other databases and subscriptions are switched
off here; such commands answer with the reason."""


def _syntax(argument: dict) -> str:
    kind = argument.get("type", b"").decode()
    token = argument.get("token", b"").decode()
    flags = {f.decode() for f in argument.get("flags", [])}
    children = [_pairs(child) for child in argument.get("arguments", [])]
    if kind == "pure-token":
        text = token
    elif kind == "oneof":
        text = " | ".join(_syntax(child) for child in children)
    elif kind == "block":
        text = " ".join(_syntax(child) for child in children)
    else:
        text = argument["name"].decode()
    if token and kind != "pure-token":
        text = f"{token} {text}"
    if "multiple" in flags:
        text = f"{text} [{text} ...]"
    if "optional" in flags:
        return f"[{text}]"
    if kind == "oneof":
        return f"<{text}>"
    return text


def help_text(execute: Callable[..., object], args: Sequence[bytes]) -> str:
    if not args:
        return INTRO
    name = b" ".join(args).decode("utf-8", errors="replace")
    lookup = name.lower().replace(" ", "|")
    reply = execute("COMMAND", "DOCS", lookup)
    if not isinstance(reply, list) or len(reply) < 2:
        return f"No help for '{name}'. Try HELP SET, or HELP with no command."
    docs = _pairs(reply[1])
    arguments = " ".join(_syntax(_pairs(a)) for a in docs.get("arguments", []))
    lines = [
        f"  {name.upper()} {arguments}".rstrip(),
        f"  summary: {docs.get('summary', b'').decode()}",
        f"  since: {docs.get('since', b'').decode()}",
        f"  group: {docs.get('group', b'').decode()}",
    ]
    return "\n".join(lines)
