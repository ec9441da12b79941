"""The web terminal must print every reply exactly as redis-cli does.

Each case runs its setup on an empty database, then its command twice: once
through the real `redis-cli --no-raw`, once through a raw connection and
format_reply. Both must print the same text. Commands are written the way a
learner types them and cut with split_args (tested on its own against
redis-cli); setup lines may hold bytes no command line can (NUL).
"""

import os
import shutil
import subprocess

import pytest
import redis

from learn.sandbox.cli import format_reply, split_args
from learn.sandbox.resp import ErrorReply, ReplyParser
from tests.redis_cli import cli_connection

pytestmark = pytest.mark.redis

HUNDRED_AND_FIVE = "RPUSH big " + " ".join(f"item{n}" for n in range(1, 106))
ELEVEN_FIELDS = " ".join(f"f{n} v{n}" for n in range(1, 12))
TWELVE_ENTRIES = [f"XADD s {n}-0 field{n} value{n}" for n in range(1, 13)]
GEO = "GEOADD sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania"
STREAM = ["XADD s 1-1 sensor a temp 20.5", "XADD s 1-2 sensor b temp 21", "XADD s 2-0 sensor a"]
GROUP = [*STREAM, "XGROUP CREATE s g 0", "XREADGROUP GROUP g alice COUNT 2 STREAMS s >"]
BINARY = [
    b"SET bin \x00\xff\n\r\t\x07\x08\"'\\end",
    'SET uni "\\xe2\\x82\\xac \\xc3\\xa9 \\xf0\\x9f\\x98\\x80"',
]

# (id, setup lines, command line)
CASES = [
    # strings and counters
    ("set", [], "SET greeting hello"),
    ("get", ["SET greeting hello"], "GET greeting"),
    ("get-missing", [], "GET nothing"),
    ("get-empty-string", ['SET e ""'], "GET e"),
    ("getrange", ["SET s Hello"], "GETRANGE s 1 3"),
    ("setrange", ["SET s Hello"], "SETRANGE s 6 World"),
    ("append", ["SET s Hello"], 'APPEND s " World"'),
    ("strlen", ["SET s Hello"], "STRLEN s"),
    ("mset", [], "MSET a 1 b 2"),
    ("mget-with-nil", ["MSET a 1 b 2"], "MGET a nope b"),
    ("msetnx-refused", ["SET a 1"], "MSETNX a 2 c 3"),
    ("incr", ["SET n 41"], "INCR n"),
    ("incrby-negative", [], "INCRBY n -7"),
    ("decrby", ["SET n 10"], "DECRBY n 3"),
    ("incrbyfloat", ["SET f 10.5"], "INCRBYFLOAT f 0.1"),
    ("incr-not-integer", ["SET n abc"], "INCR n"),
    ("getdel", ["SET k v"], "GETDEL k"),
    ("setnx-existing", ["SET k v"], "SETNX k w"),
    ("lcs", ["MSET a ohmytext b mynewtext"], "LCS a b"),
    ("lcs-idx-nested", ["MSET a ohmytext b mynewtext"], "LCS a b IDX MINMATCHLEN 2 WITHMATCHLEN"),
    # expiry
    ("set-ex", [], "SET k v EX 100"),
    ("set-px", [], "SET k v PX 100000"),
    ("set-nx-existing", ["SET k v"], "SET k w NX"),
    ("set-nx-new", [], "SET k w NX"),
    ("set-xx-missing", [], "SET k w XX"),
    ("set-get", ["SET k old"], "SET k new GET"),
    ("set-get-missing", [], "SET k new GET"),
    ("set-ex-invalid", [], "SET k v EX 0"),
    ("ttl-no-expiry", ["SET k v"], "TTL k"),
    ("ttl-missing", [], "TTL nope"),
    ("pttl-no-expiry", ["SET k v"], "PTTL k"),
    ("pttl-missing", [], "PTTL nope"),
    ("expire", ["SET k v"], "EXPIRE k 100"),
    ("persist", ["SET k v EX 100"], "PERSIST k"),
    ("persist-no-expiry", ["SET k v"], "PERSIST k"),
    ("ttl-after-persist", ["SET k v EX 100", "PERSIST k"], "TTL k"),
    # lists
    ("lpush", [], "LPUSH l a b c"),
    ("lrange", ["RPUSH l a b c"], "LRANGE l 0 -1"),
    ("lrange-empty", [], "LRANGE l 0 -1"),
    ("lrange-ten-plus", ["RPUSH l a b c d e f g h i j k l"], "LRANGE l 0 -1"),
    ("lrange-hundred-plus", [HUNDRED_AND_FIVE], "LRANGE big 0 -1"),
    ("lpop-count", ["RPUSH l a b c"], "LPOP l 2"),
    ("rpop-missing", [], "RPOP l"),
    ("lindex", ["RPUSH l a b c"], "LINDEX l 1"),
    ("linsert", ["RPUSH l a c"], "LINSERT l BEFORE c b"),
    ("lset-out-of-range", ["RPUSH l a"], "LSET l 5 x"),
    ("lpos-count", ["RPUSH l a b a c a"], "LPOS l a COUNT 0"),
    ("lmove", ["RPUSH src a b", "RPUSH dst x"], "LMOVE src dst LEFT RIGHT"),
    ("lmpop-nested", ["RPUSH l a b c"], "LMPOP 2 nope l LEFT COUNT 2"),
    ("blpop-ready", ["RPUSH l a"], "BLPOP nope l 1"),
    # sets
    ("sadd", [], "SADD s a b c a"),
    ("smembers-intset", ["SADD s 3 1 2"], "SMEMBERS s"),
    ("smembers-one", ["SADD s only"], "SMEMBERS s"),
    ("sismember", ["SADD s a"], "SISMEMBER s a"),
    ("smismember", ["SADD s a"], "SMISMEMBER s a b"),
    ("scard", ["SADD s a b"], "SCARD s"),
    ("sinter", ["SADD s1 1 2 3", "SADD s2 2 3 4"], "SINTER s1 s2"),
    ("sdiff-empty", ["SADD s1 1", "SADD s2 1"], "SDIFF s1 s2"),
    ("spop-single", ["SADD s only"], "SPOP s"),
    ("sort-alpha", ["SADD s pear apple fig"], "SORT s ALPHA"),
    ("sort-by-get-with-nil", ["RPUSH ids 2 1 3", "MSET w_1 b w_2 a"], "SORT ids BY nosort GET w_*"),
    # sorted sets
    ("zadd", [], "ZADD z 1 a 2.5 b 3 c"),
    ("zrange", ["ZADD z 1 a 2 b"], "ZRANGE z 0 -1"),
    ("zrange-withscores", ["ZADD z 1.5 a 2 b 3.25 c"], "ZRANGE z 0 -1 WITHSCORES"),
    ("zrange-byscore-limit", ["ZADD z 1 a 2 b 3 c 4 d"], "ZRANGE z (1 +inf BYSCORE LIMIT 1 2"),
    ("zrevrange-withscores", ["ZADD z 1 a 2 b"], "ZREVRANGE z 0 -1 WITHSCORES"),
    ("zscore-float", ["ZADD z 0.1 a"], "ZSCORE z a"),
    ("zscore-inf", ["ZADD z -inf a"], "ZSCORE z a"),
    ("zincrby", ["ZADD z 1 a"], "ZINCRBY z 2.5 a"),
    ("zrank", ["ZADD z 1 a 2 b"], "ZRANK z b"),
    ("zrank-missing", ["ZADD z 1 a"], "ZRANK z nope"),
    ("zmscore-with-nil", ["ZADD z 1 a"], "ZMSCORE z a nope"),
    ("zcount", ["ZADD z 1 a 2 b 3 c"], "ZCOUNT z 2 +inf"),
    ("zpopmin", ["ZADD z 1 a 2 b"], "ZPOPMIN z"),
    ("zmpop-nested", ["ZADD z 1 a 2 b"], "ZMPOP 1 z MAX COUNT 2"),
    ("zunionstore", ["ZADD z1 1 a", "ZADD z2 2 a 3 b"], "ZUNIONSTORE out 2 z1 z2"),
    ("zscan", ["ZADD z 1 a 2 b"], "ZSCAN z 0"),
    ("zadd-not-float", [], "ZADD z notanumber a"),
    # hashes
    ("hset", [], "HSET h name Ada lang Python"),
    ("hget", ["HSET h name Ada"], "HGET h name"),
    ("hgetall", ["HSET h name Ada lang Python"], "HGETALL h"),
    ("hgetall-ten-plus", [f"HSET h {ELEVEN_FIELDS}"], "HGETALL h"),
    ("hgetall-missing", [], "HGETALL h"),
    ("hmget-with-nil", ["HSET h a 1"], "HMGET h a b"),
    ("hincrby", ["HSET h n 5"], "HINCRBY h n 10"),
    ("hincrbyfloat", ["HSET h n 5"], "HINCRBYFLOAT h n 0.25"),
    ("hkeys", ["HSET h a 1 b 2"], "HKEYS h"),
    ("hvals", ["HSET h a 1 b 2"], "HVALS h"),
    ("hexists", ["HSET h a 1"], "HEXISTS h b"),
    ("hdel", ["HSET h a 1 b 2"], "HDEL h a nope"),
    ("hrandfield-single", ["HSET h only 1"], "HRANDFIELD h 1 WITHVALUES"),
    # bitmaps
    ("setbit", [], "SETBIT b 7 1"),
    ("getbit", ["SETBIT b 7 1"], "GETBIT b 7"),
    ("bitcount", ["SET b foobar"], "BITCOUNT b"),
    ("bitpos", ['SET b "\\x00\\xff"'], "BITPOS b 1"),
    ("bitop", ["SET a abc", "SET b ABC"], "BITOP XOR out a b"),
    ("bitop-result", ["SET a abc", "SET b ABC", "BITOP XOR out a b"], "GET out"),
    ("bitfield", [], "BITFIELD b SET u8 0 200 GET u8 0 INCRBY u4 0 100"),
    ("setbit-bad-offset", [], "SETBIT b -1 1"),
    # HyperLogLog
    ("pfadd", [], "PFADD hll a b c"),
    ("pfcount", ["PFADD hll a b c a"], "PFCOUNT hll"),
    ("pfmerge", ["PFADD h1 a", "PFADD h2 b"], "PFMERGE out h1 h2"),
    ("pfcount-not-hll", ["SET s x"], "PFCOUNT s"),
    # geo
    ("geoadd", [], GEO),
    ("geodist", [GEO], "GEODIST sicily Palermo Catania km"),
    ("geodist-missing", [GEO], "GEODIST sicily Palermo Rome"),
    ("geopos-with-nil", [GEO], "GEOPOS sicily Palermo Rome Catania"),
    ("geohash", [GEO], "GEOHASH sicily Palermo Catania"),
    (
        "geosearch-nested",
        [GEO],
        "GEOSEARCH sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC WITHCOORD WITHDIST WITHHASH",
    ),
    ("geosearch-none", [GEO], "GEOSEARCH sicily FROMLONLAT 0 0 BYRADIUS 1 km"),
    # streams
    ("xadd-explicit-id", [], "XADD s 1-1 sensor a temp 20.5"),
    ("xadd-id-too-small", ["XADD s 5-0 f v"], "XADD s 1-0 f v"),
    ("xrange", STREAM, "XRANGE s - +"),
    ("xrange-ten-plus", TWELVE_ENTRIES, "XRANGE s - +"),
    ("xrange-wide-entry", [f"XADD s 1-0 {ELEVEN_FIELDS}"], "XRANGE s - +"),
    ("xrevrange-count", STREAM, "XREVRANGE s + - COUNT 1"),
    ("xrange-empty", STREAM, "XRANGE s 9-0 +"),
    ("xlen", STREAM, "XLEN s"),
    ("xread", STREAM, "XREAD COUNT 2 STREAMS s 0"),
    ("xgroup-create", STREAM, "XGROUP CREATE s g 0"),
    ("xgroup-create-busy", [*STREAM, "XGROUP CREATE s g 0"], "XGROUP CREATE s g 0"),
    ("xreadgroup", [*STREAM, "XGROUP CREATE s g 0"], "XREADGROUP GROUP g alice STREAMS s >"),
    (
        "xreadgroup-nothing-new",
        [*GROUP, "XREADGROUP GROUP g bob STREAMS s >"],
        "XREADGROUP GROUP g c STREAMS s >",
    ),
    ("xpending-summary", GROUP, "XPENDING s g"),
    ("xack", GROUP, "XACK s g 1-1 9-9"),
    ("xinfo-stream", GROUP, "XINFO STREAM s"),
    ("xinfo-groups", GROUP, "XINFO GROUPS s"),
    ("xinfo-missing", [], "XINFO STREAM nope"),
    ("xdel", STREAM, "XDEL s 1-2"),
    # errors
    ("wrongtype", ["SET k v"], "LPUSH k x"),
    ("syntax-error", [], "SET k v BOGUS"),
    ("wrong-arity", [], "GET"),
    ("unknown-command", [], "FOO bar baz"),
    ("unknown-command-binary-name", [], '"\\xff\\xfe" b'),
    ("unknown-subcommand", [], "OBJECT NOPE k"),
    # keys and server
    ("echo", [], 'ECHO "Hello, World!"'),
    ("echo-unicode", [], 'ECHO "caf\\xc3\\xa9 \\xe2\\x82\\xac"'),
    ("echo-unicode-typed", [], "ECHO café€"),
    ("echo-escapes", [], 'ECHO "tab\\there\\nnew \\"q\\" back\\\\slash \\a\\b\\x01\\x7f"'),
    ("get-binary", BINARY, "GET bin"),
    ("get-unicode", BINARY, "GET uni"),
    ("ping", [], "PING"),
    ("ping-message", [], "PING hello"),
    ("type-string", ["SET k v"], "TYPE k"),
    ("type-stream", STREAM, "TYPE s"),
    ("type-none", [], "TYPE nope"),
    ("object-encoding-int", ["SET k 123"], "OBJECT ENCODING k"),
    ("object-encoding-list", ["RPUSH l a"], "OBJECT ENCODING l"),
    ("object-encoding-missing", [], "OBJECT ENCODING nope"),
    ("exists", ["MSET a 1 b 2"], "EXISTS a b nope a"),
    ("del", ["MSET a 1 b 2"], "DEL a b nope"),
    ("rename", ["SET a 1"], "RENAME a b"),
    ("rename-missing", [], "RENAME a b"),
    ("copy", ["SET a 1"], "COPY a b"),
    ("keys-one", ["SET user:1 x"], "KEYS user:*"),
    ("keys-none", [], "KEYS *"),
    ("dbsize", ["MSET a 1 b 2"], "DBSIZE"),
    ("eval-nested-with-error", [], "EVAL \"return {1,{2,{3,{}}},'x',{err='boom'}}\" 0"),
]

# (id, setup lines, lines sent through one redis-cli session)
SESSIONS = [
    ("multi-exec", [], ["MULTI", "SET k 1", "INCR k", "GET k", "EXEC"]),
    (
        "multi-exec-error-inside",
        [],
        ["MULTI", "SET k v", "LPUSH k x", "INCR k", "GET k", "EXEC"],
    ),
    ("multi-exec-nested", ["RPUSH l a b"], ["MULTI", "LRANGE l 0 -1", "LRANGE nope 0 -1", "EXEC"]),
    ("multi-execabort", [], ["MULTI", "SET k v", "NOSUCHCOMMAND", "EXEC"]),
    ("multi-discard", [], ["MULTI", "SET k v", "DISCARD", "GET k"]),
    ("exec-without-multi", [], ["EXEC"]),
]


def redis_cli() -> str:
    found = shutil.which("redis-cli") or shutil.which("valkey-cli")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("redis-cli not found")
        pytest.skip("redis-cli not found: apt-get install redis-tools")
    return found


def args_of(line: str | bytes) -> list[bytes]:
    # Setup lines given as bytes carry values (NUL) no command line can hold.
    return [bytes(arg) for arg in line.split(b" ")] if isinstance(line, bytes) else split_args(line)


@pytest.fixture(scope="module")
def url() -> str:
    return os.environ["SANDBOX_REDIS_URL"]


@pytest.fixture
def raw(url):
    """A raw connection whose replies keep their kind, like the web terminal's."""
    client = redis.Redis.from_url(url, parser_class=ReplyParser, protocol=2)
    conn = client.connection_pool.get_connection()

    def send(line):
        conn.send_command(*args_of(line))
        return conn.read_response()

    def reset(setup):
        assert send("FLUSHDB") == b"OK"
        for line in setup:
            reply = send(line)
            assert not isinstance(reply, ErrorReply), (line, reply)

    yield send, reset
    client.connection_pool.release(conn)
    client.close()


def cli_output(result: subprocess.CompletedProcess) -> str:
    assert result.stderr == b""
    return result.stdout.decode("utf-8", errors="replace").removesuffix("\n")


@pytest.mark.parametrize(
    ("setup", "command"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_it_prints_like_redis_cli(url, raw, setup, command):
    send, reset = raw
    cli = redis_cli()
    args, env = cli_connection(url)

    reset(setup)
    expected = cli_output(
        subprocess.run(
            [cli, "--no-raw", *args, *split_args(command)],
            capture_output=True,
            timeout=10,
            env=env,
        )
    )
    reset(setup)
    actual = format_reply(send(command))

    assert actual == expected


@pytest.mark.parametrize(
    ("setup", "lines"), [case[1:] for case in SESSIONS], ids=[case[0] for case in SESSIONS]
)
def test_it_prints_a_session_like_redis_cli(url, raw, setup, lines):
    send, reset = raw
    cli = redis_cli()
    args, env = cli_connection(url)

    # redis-cli reads the lines from stdin and runs them on one connection.
    reset(setup)
    expected = cli_output(
        subprocess.run(
            [cli, "--no-raw", *args],
            input="".join(f"{line}\n" for line in lines).encode(),
            capture_output=True,
            timeout=10,
            env=env,
        )
    )
    reset(setup)
    actual = "\n".join(format_reply(send(line)) for line in lines)

    assert actual == expected


def test_the_suite_covers_enough_commands():
    assert len(CASES) + len(SESSIONS) >= 85
