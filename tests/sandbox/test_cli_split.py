"""split_args must cut a line into arguments exactly as redis-cli does.

Each case states the expected arguments; the cases a terminal line can carry
are also fed to the real redis-cli on stdin, which splits them with the same
rules, and what it sent to the server must be what split_args returned.
"""

import os
import shutil
import subprocess

import pytest
import redis

from learn.sandbox.cli import InvalidArguments, split_args
from tests.redis_cli import cli_connection

MEGABYTE = 1 << 20
BIG_QUOTED = '"' + 'ab\\n\\x41\\"' * (MEGABYTE // 10) + '"'
BIG_QUOTED_VALUE = b'ab\nA"' * (MEGABYTE // 10)
BIG_MANY = "word " * (MEGABYTE // 5)

# (id, line, expected arguments, or None when redis-cli says "Invalid argument(s)")
CASES = [
    ("plain", "SET key value", [b"SET", b"key", b"value"]),
    ("runs-of-whitespace", "  GET \t  key  \t", [b"GET", b"key"]),
    ("empty-line", "", []),
    ("blank-line", " \t \x0b\x0c ", []),
    ("trailing-carriage-return", "GET key\r", [b"GET", b"key"]),
    ("double-quoted-space", 'SET k "hello world"', [b"SET", b"k", b"hello world"]),
    ("double-quoted-empty", 'SET k ""', [b"SET", b"k", b""]),
    ("single-quoted-empty", "SET k ''", [b"SET", b"k", b""]),
    ("double-escapes", r'"a\nb\rc\td\be\af"', [b"a\nb\rc\td\be\af"]),
    ("double-backslash-and-quote", r'"\\ \""', [b'\\ "']),
    ("double-unknown-escape-keeps-letter", r'"\q\z\'"', [b"qz'"]),
    ("hex-escape", r'ECHO "a\x41b"', [b"ECHO", b"aAb"]),
    ("hex-escape-any-case", r'"\xe2\x82\xAC"', ["€".encode()]),
    ("hex-escape-nul-and-high", r'"\x00\xff"', [b"\x00\xff"]),
    ("hex-escape-invalid-digits", r'"\xZZ"', [b"xZZ"]),
    ("hex-escape-one-digit", r'"\x4"', [b"x4"]),
    ("hex-escape-second-digit-invalid", r'"\x4g"', [b"x4g"]),
    ("backslash-unquoted-is-literal", r"a\nb\x41", [b"a\\nb\\x41"]),
    ("single-quoted-space", "SET k 'hello world'", [b"SET", b"k", b"hello world"]),
    ("single-escaped-quote", r"'it\'s'", [b"it's"]),
    ("single-no-other-escapes", r"'a\nb\x41\\z'", [b"a\\nb\\x41\\\\z"]),
    ("single-double-backslash-still-escapes-quote", r"'a\\'", None),
    ("single-holds-double", "'say \"hi\"'", [b'say "hi"']),
    ("double-holds-single", '"it\'s"', [b"it's"]),
    ("quote-inside-bare-word", 'key"a b"', [b"keya b"]),
    ("single-quote-inside-bare-word", "key'a b'", [b"keya b"]),
    ("closing-quote-then-tab", '"a"\tb', [b"a", b"b"]),
    ("closing-quote-then-vertical-tab", '"a"\x0bb', [b"a", b"b"]),
    ("vertical-tab-inside-bare-word", "a\x0bb", [b"a\x0bb"]),
    ("newline-separates", "a\nb", [b"a", b"b"]),
    ("nul-ends-the-line", "ab\x00cd", [b"ab"]),
    ("unicode-bare", "ECHO héllo", [b"ECHO", "héllo".encode()]),
    ("unicode-quoted", 'SET k "€ 😀"', [b"SET", b"k", "€ 😀".encode()]),
    ("bytes-input", b"ECHO \xff\xfe", [b"ECHO", b"\xff\xfe"]),
    ("adjacent-double-after-double", '"a""b"', None),
    ("text-after-double", '"a"b', None),
    ("text-after-single", "'a'b", None),
    ("single-after-double", "\"a\"'b'", None),
    ("quote-in-middle-then-text", 'a"b c"d', None),
    ("unterminated-double", 'ECHO "abc', None),
    ("unterminated-single", "ECHO 'abc", None),
    ("escaped-closing-double", r'ECHO "abc\"', None),
    ("trailing-backslash-in-double", 'ECHO "abc\\', None),
    ("escaped-closing-single", r"ECHO 'abc\'", None),
    ("lone-double-quote", '"', None),
    ("megabyte-quoted-argument", BIG_QUOTED, [BIG_QUOTED_VALUE]),
    ("megabyte-of-arguments", BIG_MANY, [b"word"] * (MEGABYTE // 5)),
]


@pytest.mark.parametrize(("line", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_it_splits_like_redis_cli(line, expected):
    if expected is None:
        with pytest.raises(InvalidArguments) as caught:
            split_args(line)
        assert str(caught.value) == "Invalid argument(s)"
    else:
        assert split_args(line) == expected


def test_it_reports_invalid_arguments_as_a_value_error():
    with pytest.raises(ValueError, match=r"^Invalid argument\(s\)$"):
        split_args('"open')


def test_it_accepts_str_and_bytes_alike():
    assert (
        split_args('SET k "é"') == split_args('SET k "é"'.encode()) == [b"SET", b"k", b"\xc3\xa9"]
    )


def _redis_cli() -> str:
    found = shutil.which("redis-cli") or shutil.which("valkey-cli")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("redis-cli not found")
        pytest.skip("redis-cli not found: apt-get install redis-tools")
    return found


# redis-cli reads stdin line by line, so a line holding "\n" cannot reach it whole.
STDIN_CASES = [
    c for c in CASES if b"\n" not in (c[1] if isinstance(c[1], bytes) else c[1].encode())
]


@pytest.mark.redis
@pytest.mark.parametrize(
    ("line", "expected"), [c[1:] for c in STDIN_CASES], ids=[c[0] for c in STDIN_CASES]
)
def test_it_agrees_with_redis_cli_reading_stdin(line, expected):
    url = os.environ["SANDBOX_REDIS_URL"]
    raw = line if isinstance(line, bytes) else line.encode()
    args, env = cli_connection(url)
    result = subprocess.run(
        [_redis_cli(), "--no-raw", *args],
        env=env,
        input=b"RPUSH split:cli " + raw + b"\n",
        capture_output=True,
        timeout=30,
        check=True,
    )
    client = redis.Redis.from_url(url)
    try:
        sent = client.lrange("split:cli", 0, -1)
    finally:
        client.close()

    if expected is None:
        assert result.stdout == b"Invalid argument(s)\n"
        assert sent == []
    else:
        # With no arguments of its own the line leaves RPUSH short of a value.
        assert (b"wrong number of arguments" in result.stdout) == (expected == [])
        assert sent == expected == split_args(line)
