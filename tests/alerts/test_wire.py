"""hub.alerts.wire against a scripted server on 127.0.0.1: the answers a webhook receiver may
give (a length, chunks split anywhere, interim 1xx answers, `Connection: close`, a body that
ends with the connection, too much of anything), keep-alive reuse, a connection the server
closed while it sat idle, timeouts, and TLS to a pinned address checked against the host's
name. No database."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hub.alerts import wire

REQUEST = b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
HANG = b"hang"
"""A scripted piece: say nothing more until the client closes."""


class Server:
    """Answers each request read (by its Content-Length) with the next scripted pieces; a
    piece of None closes the connection, HANG waits for the client to. Counts connections and
    requests."""

    def __init__(self, answers: list[list[bytes | None]]) -> None:
        self.answers = answers
        self.connections = 0
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                self.requests += 1
                for piece in self.answers.pop(0) if self.answers else [None]:
                    if piece is None:
                        writer.close()
                        return
                    if piece is HANG:
                        await reader.read()
                        writer.close()
                        return
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.01)  # each piece in its own segment
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@asynccontextmanager
async def serving(*answers: list[bytes | None]) -> AsyncIterator[tuple[Server, wire.Pool]]:
    server = Server(list(answers))
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    pool = wire.Pool("127.0.0.1", port, tls=None, server_name=None, keep=4)
    try:
        yield server, pool
    finally:
        pool.close()
        listener.close()


def ok(body: bytes = b"ok", *extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\n%bContent-Length: %d\r\n\r\n%b" % (
        b"".join(extra),
        len(body),
        body,
    )


async def settled() -> None:
    await asyncio.sleep(0.1)  # let a body drain and the connection return to the pool


async def test_content_length_and_keep_alive() -> None:
    async with serving([ok()], [ok(b"")], [ok(b"x" * 10_000)]) as (server, pool):
        for _ in range(3):
            assert (await pool.request(REQUEST, 2.0)).status == 200
            await settled()
    assert (server.connections, server.requests) == (1, 3)


async def test_chunked_split_anywhere_with_trailers() -> None:
    chunked = b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n\r\n"
    body = b"4;ext=1\r\nabcd\r\n10\r\n" + b"y" * 16 + b"\r\n0\r\nX-Trailer: 1\r\n\r\n"
    pieces: list[bytes | None] = [chunked[:10], chunked[10:] + body[:3], body[3:20], body[20:]]
    async with serving(pieces, [ok()]) as (server, pool):
        answer = await pool.request(REQUEST, 2.0)
        assert answer == wire.Answer(500, "7")
        await settled()
        assert (await pool.request(REQUEST, 2.0)).status == 200
    assert server.connections == 1


async def test_interim_answers_are_skipped() -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    async with serving([interim + ok()]) as (_, pool):
        assert (await pool.request(REQUEST, 2.0)).status == 200


@pytest.mark.parametrize(
    "answer",
    [
        ok(b"", b"Connection: close\r\n"),
        b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\nthe body ends when the server closes",
        ok(b"x" * (wire.MAX_BODY + 1)),
        ok() + b"HTTP/1.1 200 OK\r\n",  # bytes nobody asked for
        b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # a bad chunk
    ],
)
async def test_an_odd_answer_costs_only_its_connection(answer: bytes) -> None:
    async with serving([answer], [ok()]) as (server, pool):
        assert (await pool.request(REQUEST, 2.0)).status in (200, 202)
        await settled()
        assert (await pool.request(REQUEST, 2.0)).status == 200
    assert server.connections == 2


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/2 200\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
    ],
)
async def test_a_head_that_does_not_parse_is_a_failed_attempt(answer: bytes) -> None:
    async with serving([answer]) as (_, pool):
        with pytest.raises(wire.ProtocolError):
            await pool.request(REQUEST, 2.0)


async def test_a_connection_the_server_closed_is_replaced() -> None:
    async with serving([ok(), None], [ok()]) as (server, pool):  # closed after answering
        assert (await pool.request(REQUEST, 2.0)).status == 200
        await settled()
        assert (await pool.request(REQUEST, 2.0)).status == 200
    assert (server.connections, server.requests) == (2, 2)
    async with serving([ok()], [None], [ok()]) as (server, pool):
        assert (await pool.request(REQUEST, 2.0)).status == 200
        await settled()
        # The server took the next request on the kept connection and closed it unanswered,
        # as one that times out idle connections may: sent again on a new connection.
        assert (await pool.request(REQUEST, 2.0)).status == 200
    assert (server.connections, server.requests) == (2, 3)


async def test_closed_before_answering_and_mid_answer() -> None:
    async with serving([None]) as (_, pool):
        with pytest.raises(wire.Closed):
            await pool.request(REQUEST, 2.0)
    async with serving([b"HTTP/1.1 200", None]) as (_, pool):
        with pytest.raises(wire.ProtocolError):
            await pool.request(REQUEST, 2.0)


@pytest.mark.parametrize(
    "answer",
    [
        [],  # never answers
        [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"],  # a body that never ends
    ],
)
async def test_timeouts(answer: list[bytes | None]) -> None:
    async with serving([*answer, HANG]) as (server, pool):
        if answer:
            assert (await pool.request(REQUEST, 0.3)).status == 200
            await asyncio.sleep(0.5)  # the drain timed out: the connection is gone
            assert not pool.idle
        else:
            with pytest.raises(TimeoutError):
                await pool.request(REQUEST, 0.3)
    assert server.requests == 1


def certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_tls_to_the_checked_address_verifies_the_host_name(tmp_path: Path) -> None:
    cert_file, key_file = certificate(tmp_path, "hooks.example")
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert_file, key_file)
    trusting = ssl.create_default_context(cafile=str(cert_file))
    server = Server([[ok()]])
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=served)
    port = listener.sockets[0].getsockname()[1]
    try:
        pool = wire.Pool("127.0.0.1", port, tls=trusting, server_name="hooks.example", keep=1)
        assert (await pool.request(REQUEST, 5.0)).status == 200
        pool.close()
        wrong = wire.Pool("127.0.0.1", port, tls=trusting, server_name="other.example", keep=1)
        with pytest.raises(ssl.SSLCertVerificationError):
            await wrong.request(REQUEST, 5.0)
        wrong.close()
    finally:
        listener.close()
