"""A lean HTTP/1.1 client for webhook POSTs: keep-alive connections on asyncio protocols, one
pool per checked address.

Why not httpx: profiled, a worker spent about 1.2 ms of CPU per webhook in httpx and httpcore
(pool bookkeeping that walks every pooled connection on each request, anyio's cancel scopes and
socket wrappers, h11's generic validation, two socket writes per request). A webhook needs none
of that. Here a request is bytes built once and written with one `transport.write`, and the
answer is parsed only as far as a webhook needs it: the status line, `Retry-After`, and how the
body is framed (Content-Length or chunked), so that the body can be read, dropped, and the
connection used again. The outcome is known from the status line; the body drains afterwards
and the connection goes back to its pool when it ends.

Anything unusual costs only its connection, never the outcome: a body larger than MAX_BODY, one
that ends when the server closes, `Connection: close`, HTTP/1.0, bytes after the answer, a
malformed chunk. An answer whose head does not parse is a failed attempt (ProtocolError). Not
done, on purpose: redirects, proxies, cookies, compression, HTTP/2.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

MAX_HEAD = 65_536
"""Bytes of status line and headers read at most."""
MAX_BODY = 65_536
"""Bytes of a receiver's body read (and dropped) at most; a longer one closes the connection."""
MAX_LINE = 4_096
"""Bytes of a chunk-size or trailer line."""
KEEP_IDLE = 5.0
"""Seconds an idle connection is kept; servers close theirs after a few seconds too."""

_HEAD, _LENGTH, _SIZE, _DATA, _CRLF, _TRAILER, _IDLE = range(7)
_HEX = frozenset(b"0123456789abcdefABCDEF")


class ProtocolError(Exception):
    """The answer is not HTTP/1.1 as this client reads it."""


class Closed(ConnectionError):
    """The connection closed before any byte of the answer (on a reused connection: the server
    had closed it while it was idle)."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    retry_after: str | None = None


class Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, the answer parsed as it arrives."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.state = _IDLE
        self.waiter: asyncio.Future[Answer] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.remaining = 0
        self.body = 0
        self.keep = False
        self.received = False
        self.closed = False
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, data: bytes, deadline: float) -> asyncio.Future[Answer]:
        assert self.transport is not None
        assert self.state == _IDLE
        loop = self.pool.loop
        self.waiter = loop.create_future()
        self.state, self.body, self.received = _HEAD, 0, False
        self.timer = loop.call_at(deadline, self._expire)
        self.transport.write(data)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.received = True
        self.buffer += data
        try:
            self._parse()
        except ProtocolError as exc:
            self._fail(exc)

    def eof_received(self) -> bool | None:
        return None  # the transport closes itself; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.open.discard(self)
        if self.timer is not None:
            self.timer.cancel()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(
                ProtocolError("closed mid-answer") if self.received else Closed()
            )

    def close(self) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
        if self.transport is not None:
            self.transport.abort()

    def _expire(self) -> None:
        self._fail(TimeoutError())

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        self.close()

    def _parse(self) -> None:
        buffer = self.buffer
        while True:
            state = self.state
            if state == _HEAD:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > MAX_HEAD:
                        raise ProtocolError("head too long")
                    return
                head = bytes(buffer[:end])
                del buffer[: end + 4]
                self._head(head)
                if self.closed:
                    return
            elif state in (_LENGTH, _DATA):
                take = min(self.remaining, len(buffer))
                del buffer[:take]
                self.remaining -= take
                if self.remaining:
                    return
                if state == _LENGTH:
                    self._finish()
                else:
                    self.state = _CRLF
            elif state == _CRLF:
                if len(buffer) < 2:
                    return
                if buffer[:2] != b"\r\n":
                    raise ProtocolError("chunk not followed by CRLF")
                del buffer[:2]
                self.state = _SIZE
            elif state in (_SIZE, _TRAILER):
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > MAX_LINE:
                        raise ProtocolError("line too long")
                    return
                line = bytes(buffer[:end])
                del buffer[: end + 2]
                if state == _TRAILER:
                    if not line:
                        self._finish()
                    continue
                size = line.split(b";", 1)[0].strip()
                if not size or not _HEX.issuperset(size):
                    raise ProtocolError("bad chunk size")
                self.remaining = int(size, 16)
                self.body += self.remaining
                if self.body > MAX_BODY:
                    raise ProtocolError("body too long")
                self.state = _DATA if self.remaining else _TRAILER
            else:  # _IDLE: nothing was asked
                if buffer:
                    raise ProtocolError("bytes after the answer")
                return

    def _head(self, head: bytes) -> None:
        """The status line and headers: the outcome, then how to read (or skip) the body."""
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        code = rest[:3]
        if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
            raise ProtocolError("bad status line")
        status = int(code)
        if status < 200:  # an interim answer (100 Continue, 103 Early Hints): the real one follows
            if status == 101:
                raise ProtocolError("unexpected protocol switch")
            return
        length: bytes | None = None
        coding, connection, retry_after = b"", b"", None
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name[-1:] in b" \t" or line[:1] in b" \t":
                raise ProtocolError("bad header line")
            name, value = name.lower(), value.strip()
            if name == b"content-length":
                if length is not None and value != length:
                    raise ProtocolError("conflicting Content-Length")
                length = value
            elif name == b"transfer-encoding":
                coding = value.lower().rsplit(b",", 1)[-1].strip()
            elif name == b"connection":
                connection += b"," + value.lower()
            elif name == b"retry-after":
                retry_after = value.decode("latin-1")
        if length is not None and not length.isdigit():
            raise ProtocolError("bad Content-Length")
        assert self.waiter is not None
        if not self.waiter.done():
            self.waiter.set_result(Answer(status, retry_after))
        self.keep = version == b"HTTP/1.1" and b"close" not in connection
        if status in (204, 304):
            self._finish()
        elif coding:  # Transfer-Encoding wins over Content-Length (RFC 9112 §6.3)
            if coding != b"chunked":
                self.close()  # the body ends when the server closes
            else:
                self.state = _SIZE
        elif length is not None:
            self.remaining = int(length)
            if self.remaining > MAX_BODY:
                self.close()
            elif self.remaining:
                self.state = _LENGTH
            else:
                self._finish()
        else:
            self.close()  # no framing: the body ends when the server closes

    def _finish(self) -> None:
        """The answer is complete: the connection goes back to its pool, if it may."""
        self.state = _IDLE
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.keep and not self.buffer and not self.closed:
            self.pool.release(self)
        else:
            self.close()


class Pool:
    """Keep-alive connections to one checked address (and, over TLS, one server name)."""

    def __init__(
        self,
        address: str,
        port: int,
        *,
        tls: ssl.SSLContext | None,
        server_name: str | None,
        keep: int,
    ) -> None:
        self.address, self.port, self.tls, self.server_name = address, port, tls, server_name
        self.keep = keep
        self.idle: list[Connection] = []
        self.open: set[Connection] = set()
        self.loop = asyncio.get_running_loop()

    async def request(self, data: bytes, within: float) -> Answer:
        """Send one request (all its bytes) and return the answer's status and Retry-After;
        TimeoutError after `within` seconds, OSError or ProtocolError when it fails. (A timer
        per request, not asyncio.timeout: cheaper, and it also bounds the body's draining.)"""
        deadline = self.loop.time() + within
        connection = self._idle()
        if connection is not None:
            try:
                return await connection.send(data, deadline)
            except Closed:
                pass  # it closed while idle: once more on a new connection
        connection = await self._connect(deadline)
        return await connection.send(data, deadline)

    def _idle(self) -> Connection | None:
        now = self.loop.time()
        while self.idle:
            connection = self.idle.pop()  # the most recently used: the likeliest still open
            if not connection.closed and now - connection.idle_since < KEEP_IDLE:
                return connection
            connection.close()
        return None

    async def _connect(self, deadline: float) -> Connection:
        remaining = deadline - self.loop.time()
        if remaining <= 0:
            raise TimeoutError
        _, connection = await asyncio.wait_for(
            self.loop.create_connection(
                lambda: Connection(self),
                self.address,
                self.port,
                ssl=self.tls,
                server_hostname=self.server_name if self.tls is not None else None,
            ),
            remaining,
        )
        self.open.add(connection)
        return connection

    def release(self, connection: Connection) -> None:
        connection.idle_since = self.loop.time()
        if len(self.idle) < self.keep:
            self.idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        for connection in list(self.open):
            connection.close()
        self.idle.clear()
        self.open.clear()
