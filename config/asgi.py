"""The application `make serve` runs: Django's WSGI app behind a buffer.

gunicorn's asyncio worker (config/worker.py) reads each request, headers and
body, in its event loop, where a slow client costs a little memory rather
than a worker. Only a request that arrived whole, within its time and size,
is handed to Django, which runs as it does under a sync worker: one request
at a time per process, in one lasting thread (asgiref's WsgiToAsgi), so
database connections are reused as CONN_MAX_AGE says.
"""

from __future__ import annotations

import asyncio
import os
import time

from asgiref.wsgi import WsgiToAsgi

from config.wsgi import application as wsgi_application

# Seconds a client has to send its whole body, however it trickles it in.
BODY_TIMEOUT = float(os.environ.get("BODY_TIMEOUT", "10"))


class _Refused(Exception):
    def __init__(self, status: int, message: bytes) -> None:
        self.status, self.message = status, message


async def _refuse(send, error: _Refused) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": error.message})


class BufferedRequests:
    """Refuse a body over `limit` bytes (413) or slower than BODY_TIMEOUT (408)
    before the application reads any of it into a file or a thread."""

    def __init__(self, app, limit: int, body_timeout: float = BODY_TIMEOUT) -> None:
        self.app, self.limit, self.body_timeout = app, limit, body_timeout

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_large = _Refused(413, b"Request body too large.\n")
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await _refuse(send, too_large)
        deadline = time.monotonic() + self.body_timeout
        received = 0

        async def bounded_receive():
            nonlocal received
            remaining = deadline - time.monotonic()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(remaining, 0.001))
            except TimeoutError:
                raise _Refused(408, b"Request body too slow.\n") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise too_large
            return message

        try:
            await self.app(scope, bounded_receive, send)
        except _Refused as error:
            # WsgiToAsgi reads the whole body before it calls Django, so
            # nothing has been answered yet.
            await _refuse(send, error)


def build(limit: int | None = None):
    from django.conf import settings

    return BufferedRequests(WsgiToAsgi(wsgi_application), limit or settings.REQUEST_BODY_LIMIT)


application = build()
