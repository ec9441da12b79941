"""Parse and print like redis-cli, so the web terminal feels like the real one.

`split_args` follows redis-cli's `sdssplitargs` rules and `format_reply`
follows what `redis-cli --no-raw` prints on a terminal, byte for byte; the
fidelity tests compare both against the real redis-cli.
"""

from __future__ import annotations

import re

from learn.sandbox.resp import ErrorReply, Reply, Status

__all__ = ["InvalidArguments", "format_reply", "split_args"]


class InvalidArguments(ValueError):
    """The line has an unbalanced quote or a closing quote glued to more text."""

    def __init__(self) -> None:
        super().__init__("Invalid argument(s)")


# C isspace() in the C locale; skipping between arguments and checking what
# follows a closing quote use it, but an unquoted argument only ends at these
# four characters, so "\v" and "\f" stay inside an unquoted argument.
_SPACE = b" \t\n\r\x0b\x0c"
_SKIP_SPACE = re.compile(rb"[ \t\n\r\x0b\x0c]*")
_BARE = re.compile(rb"[^ \t\n\r\"']*")
_DOUBLE = re.compile(rb'[^\\"]*')
_SINGLE = re.compile(rb"[^\\']*")
_HEX = b"0123456789abcdefABCDEF"
_ESCAPES = {
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
    ord("b"): b"\b",
    ord("a"): b"\a",
}


def split_args(line: str | bytes) -> list[bytes]:
    """Split a command line into arguments exactly as redis-cli does.

    Raises InvalidArguments where redis-cli prints "Invalid argument(s)".
    """
    data = line.encode("utf-8") if isinstance(line, str) else bytes(line)
    # redis-cli works on a C string: a NUL byte ends the line.
    data = data.split(b"\0", 1)[0]
    end = len(data)
    args: list[bytes] = []
    pos = _SKIP_SPACE.match(data, 0).end()
    while pos < end:
        parts: list[bytes] = []
        while True:
            match = _BARE.match(data, pos)
            parts.append(match.group())
            pos = match.end()
            if pos >= end:
                break
            quote = data[pos]
            if quote == ord('"'):
                pos = _read_double(data, pos + 1, parts)
            elif quote == ord("'"):
                pos = _read_single(data, pos + 1, parts)
            else:
                break
            if pos >= end or data[pos] in _SPACE:
                break
            # redis-cli rejects `"a"b` rather than guessing what was meant.
            raise InvalidArguments
        args.append(b"".join(parts))
        pos = _SKIP_SPACE.match(data, pos).end()
    return args


def _read_double(data: bytes, pos: int, parts: list[bytes]) -> int:
    """Read a double-quoted body after its opening quote; return the index after the closing one."""
    end = len(data)
    while True:
        match = _DOUBLE.match(data, pos)
        parts.append(match.group())
        pos = match.end()
        if pos >= end:
            raise InvalidArguments
        if data[pos] == ord('"'):
            return pos + 1
        # A backslash; one as the very last byte leaves the quote unterminated.
        if pos + 1 >= end:
            raise InvalidArguments
        escaped = data[pos + 1]
        if (
            escaped == ord("x")
            and pos + 3 < end
            and data[pos + 2] in _HEX
            and data[pos + 3] in _HEX
        ):
            parts.append(bytes([int(data[pos + 2 : pos + 4], 16)]))
            pos += 4
        else:
            # Unknown escapes, and \x without two hex digits, keep just the letter.
            parts.append(_ESCAPES.get(escaped, bytes([escaped])))
            pos += 2


def _read_single(data: bytes, pos: int, parts: list[bytes]) -> int:
    """Read a single-quoted body after its opening quote; return the index after the closing one."""
    end = len(data)
    while True:
        match = _SINGLE.match(data, pos)
        parts.append(match.group())
        pos = match.end()
        if pos >= end:
            raise InvalidArguments
        if data[pos] == ord("'"):
            return pos + 1
        # Only \' is an escape here; any other backslash is kept as is.
        if pos + 1 < end and data[pos + 1] == ord("'"):
            parts.append(b"'")
            pos += 2
        else:
            parts.append(b"\\")
            pos += 1


# sdscatrepr: printable ASCII stays, the usual C escapes get their letter, and
# every other byte (UTF-8 included) becomes \xhh, since redis-cli prints bytes.
_REPR = [chr(byte) if 0x20 <= byte <= 0x7E else f"\\x{byte:02x}" for byte in range(256)]
_REPR[ord('"')] = '\\"'
_REPR[ord("\\")] = "\\\\"
_REPR[ord("\n")] = "\\n"
_REPR[ord("\r")] = "\\r"
_REPR[ord("\t")] = "\\t"
_REPR[ord("\a")] = "\\a"
_REPR[ord("\b")] = "\\b"


def format_reply(reply: Reply) -> str:
    """Render a reply as `redis-cli --no-raw` prints it on a terminal, without the final newline."""
    return "".join(_format(reply, "")).removesuffix("\n")


def _format(reply: Reply, prefix: str) -> list[str]:
    # Order matters: Status is a bytes subclass and bool an int subclass.
    if isinstance(reply, ErrorReply):
        return ["(error) ", str(reply), "\n"]
    if isinstance(reply, Status):
        return [bytes(reply).decode("utf-8", errors="replace"), "\n"]
    if isinstance(reply, bytes | bytearray):
        return ['"', "".join(map(_REPR.__getitem__, reply)), '"\n']
    if reply is None:
        return ["(nil)\n"]
    if isinstance(reply, int):
        return [f"(integer) {int(reply)}\n"]
    if isinstance(reply, list):
        return _format_array(reply, prefix)
    raise TypeError(f"not a RESP2 reply: {type(reply).__name__}")


def _format_array(items: list, prefix: str) -> list[str]:
    if not items:
        return ["(empty array)\n"]
    # Indexes are right-aligned to the widest one; a nested array starts on its
    # parent's index line and its later lines are indented past that index.
    width = len(str(len(items)))
    child_prefix = prefix + " " * (width + 2)
    out: list[str] = []
    for number, item in enumerate(items, start=1):
        out.append(f"{prefix if number > 1 else ''}{number:>{width}}) ")
        out.extend(_format(item, child_prefix))
    return out
