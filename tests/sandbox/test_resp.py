"""The reply parser rests on redis-py's private RESP2 parser (see resp.py for why).

These fail loudly, naming the cause, if a redis-py upgrade moves or changes it.
"""

import pytest
import redis
from django.conf import settings
from redis.connection import parse_url

from learn.sandbox.resp import ErrorReply, ReplyParser, Status

pytestmark = pytest.mark.redis


def test_the_private_parser_it_extends_is_still_there():
    from redis._parsers.resp2 import _RESP2Parser

    assert issubclass(ReplyParser, _RESP2Parser)
    # What ReplyParser overrides and relies on: a redis-py upgrade that renames
    # these breaks the sandbox's replies, so it must break this test first.
    assert "_read_response" in vars(_RESP2Parser)
    assert hasattr(redis._parsers.resp2, "_RESP2Parser")


def test_replies_keep_their_kind_through_a_real_connection(sandbox_redis):
    pool = redis.ConnectionPool(
        **parse_url(settings.SANDBOX_REDIS_URL), parser_class=ReplyParser, protocol=2
    )
    conn = pool.get_connection()

    def send(*args):
        conn.send_command(*args)
        return conn.read_response()

    try:
        ok, bulk, missing, count = (
            send("SET", "k", "OK"),
            send("GET", "k"),
            send("GET", "x"),
            send("DEL", "k"),
        )
        wrong = send("LPUSH")
        nested = send("EVAL", "return {1, {'a'}, redis.status_reply('S')}", "0")
    finally:
        pool.release(conn)
        pool.disconnect()

    assert type(ok) is Status and ok == b"OK"
    assert type(bulk) is bytes and bulk == b"OK"  # the same bytes as +OK, another kind
    assert (missing, count) == (None, 1)
    assert isinstance(wrong, ErrorReply) and wrong.startswith("ERR wrong number")
    assert nested == [1, [b"a"], b"S"] and type(nested[2]) is Status
