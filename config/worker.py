"""gunicorn's asyncio (ASGI) worker with a deadline for request headers.

The worker parses requests in its event loop, so a slow client holds no
thread; but gunicorn 27 bounds the wait for the headers of a connection's
first request by nothing. A slowloris client (headers a byte at a time)
would keep its connection, and enough of them every connection the worker
allows. Here a connection that has not sent a whole request head within
HEADER_TIMEOUT seconds is closed. Later requests on a kept-alive connection
are bounded by gunicorn's own keep-alive timer, which runs until their
headers are in.

This reaches into ASGIProtocol's connection callbacks (gunicorn==27.0.1 is
pinned); tests/test_slow_clients.py replays the attack against it.
"""

from __future__ import annotations

import os

from gunicorn.asgi.protocol import ASGIProtocol
from gunicorn.workers import gasgi

HEADER_TIMEOUT = float(os.environ.get("HEADER_TIMEOUT", "10"))


class HeaderDeadlineProtocol(ASGIProtocol):
    _header_deadline = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._header_deadline = self.worker.loop.call_later(HEADER_TIMEOUT, self._too_slow)

    def _on_headers_complete(self):
        self._cancel_header_deadline()
        return super()._on_headers_complete()

    def connection_lost(self, exc) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if self._request_ready is None:  # not an HTTP/1 connection: just close it
            self._close_transport()
            return
        # What gunicorn does when a kept-alive connection idles out: close it
        # and wake the connection's task so it ends.
        self._keepalive_timeout()


class Worker(gasgi.ASGIWorker):
    def init_process(self) -> None:
        # The worker builds its protocol by this module-level name.
        gasgi.ASGIProtocol = HeaderDeadlineProtocol
        super().init_process()
