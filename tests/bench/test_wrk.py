"""The bench reads wrk's figures right and hands it whole requests (no server needed)."""

from pathlib import Path

import pytest

from tests.bench import wrk
from tests.bench.wrk import Request

# wrk 4.1's output for a second against the bare floor, 1 request in 4 a 404.
OUTPUT = """\
Running 1s test @ http://127.0.0.1:55323
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    19.53ms    9.89ms  64.90ms   81.37%
    Req/Sec   830.05    243.00     1.14k    60.00%
  Latency Distribution
     50%   17.38ms
     75%   21.43ms
     90%   33.68ms
     99%   60.02ms
  1668 requests in 1.01s, 38.61MB read
  Non-2xx or 3xx responses: 418
Requests/sec:   1646.42
Transfer/sec:     38.11MB
BENCH requests=1668 duration_us=1013110 bytes=40484644 status_errors=418 connect=2 read=1 \
write=0 timeout=3 p50_us=17383 p95_us=41974 p99_us=60020 max_us=64903 repeats=0 pool=4000
"""


def test_it_reads_the_rate_and_percentiles_from_wrks_output():
    result = wrk.parse(OUTPUT)

    assert round(result.rps) == 1646  # as wrk itself prints it
    assert (result.p50, result.p95, result.p99) == (17.383, 41.974, 60.02)


def test_it_counts_error_statuses_apart_from_socket_errors():
    result = wrk.parse(OUTPUT)

    assert result.errors == 418  # wrk's "Non-2xx or 3xx responses"
    assert result.socket_errors == 6


def test_it_says_when_a_pool_of_one_use_requests_ran_out():
    assert not wrk.parse(OUTPUT).pool_exhausted
    assert wrk.parse(OUTPUT.replace("repeats=0", "repeats=12")).pool_exhausted


def test_it_refuses_output_without_the_scripts_summary_line():
    with pytest.raises(ValueError, match="no BENCH line"):
        wrk.parse(OUTPUT.rsplit("BENCH", 1)[0])


def test_a_post_carries_the_learners_cookie_token_and_body_length():
    request = Request(
        "POST",
        "/sandbox/run",
        (("Cookie", "sessionid=s; csrftoken=t"), ("X-CSRFToken", "t")),
        b"command=GET+greeting",
    )

    raw = request.raw("127.0.0.1:8000")

    head, body = raw.split(b"\r\n\r\n")
    assert head.split(b"\r\n") == [
        b"POST /sandbox/run HTTP/1.1",
        b"Host: 127.0.0.1:8000",
        b"Cookie: sessionid=s; csrftoken=t",
        b"X-CSRFToken: t",
        b"Content-Length: 20",
    ]
    assert body == b"command=GET+greeting"


def test_the_requests_file_holds_every_request_whole_and_in_order(tmp_path: Path):
    requests = [Request("GET", "/"), Request("POST", "/x", body=b"a\nb")]
    path = tmp_path / "requests"

    wrk.write_requests(path, requests, "h")

    # Read back as replay.lua does: "<length>\n<raw request>" records.
    data, records = path.read_bytes(), []
    while data:
        length, data = data.split(b"\n", 1)
        records.append(data[: int(length)])
        data = data[int(length) :]
    assert records == [r.raw("h") for r in requests]
